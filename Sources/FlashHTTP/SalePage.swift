/// The live sale page at `GET /`: every sale's stock, rates, purchase latency, pending
/// transactions and recent orders, refreshed every second from the same read-only answers the
/// API gives (`/v1/status`, `/v1/sales`, `/v1/orders`, `/metrics`), with an order lookup.
/// Plain HTML and JavaScript in the binary: no build step, no CDN, nothing fetched from
/// anywhere but the listener that served it.
///
/// Rates and latency are differences between two refreshes: purchases per second from the
/// `ordered` counter and each sale's units taken, latency percentiles from the buckets of
/// `flashd_purchase_duration_seconds` that filled in between.
enum SalePage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>flashd: live sale</title>
        <style>
          body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
          h1 { font-size: 1.3em; margin: 0 0 .2em; }
          .muted { color: #777; }
          .bad { color: #b00; font-weight: bold; }
          table { border-collapse: collapse; margin: .8em 0 1.5em; }
          th, td { padding: .25em .7em; border-bottom: 1px solid #ddd; text-align: right; }
          th:first-child, td:first-child { text-align: left; }
          .bar { display: inline-block; height: .7em; background: #4a8; vertical-align: middle; }
          code { font-size: .95em; }
        </style>
        </head>
        <body>
        <h1>flashd <span id="node"></span></h1>
        <div id="health" class="muted">connecting…</div>
        <div id="error" class="bad"></div>
        <h2>Sales</h2>
        <table id="sales">
          <thead><tr><th>item</th><th>round</th><th>state</th><th>stock left</th><th></th><th>taken</th><th>orders here</th>
          <th>pending</th><th>held / confirmed / released</th><th>units/s</th></tr></thead>
          <tbody></tbody>
        </table>
        <div id="rates"></div>
        <h2>Recent orders on this node</h2>
        <table id="orders">
          <thead><tr><th>order</th><th>item</th><th>user</th><th>request id</th><th>state</th><th>ordered at</th></tr></thead>
          <tbody></tbody>
        </table>
        <h2>Find an order</h2>
        <form id="lookup"><input id="order-id" size="40" placeholder="ord-NODE-…"> <button>Find</button></form>
        <pre id="found"></pre>
        <p id="updated" class="muted"></p>
        <script>
        "use strict";
        const $ = (id) => document.getElementById(id);
        let before = null;
        let refreshes = 0;

        function cell(text, cls) {
          const td = document.createElement("td");
          td.textContent = text;
          if (cls) td.className = cls;
          return td;
        }

        async function json(path) {
          const r = await fetch(path, { cache: "no-store" });
          const body = await r.json();
          if (!r.ok) throw new Error(path + ": " + (body.message || r.status));
          return body;
        }

        // Cumulative bucket counts of the purchase latency histogram, by upper bound in seconds.
        function buckets(metrics) {
          const found = [];
          const re = /^flashd_purchase_duration_seconds_bucket\{le="([^"]+)"\} (\d+)/;
          for (const line of metrics.split("\n")) {
            const m = re.exec(line);
            if (m) found.push([m[1] === "+Inf" ? Infinity : Number(m[1]), Number(m[2])]);
          }
          return found;
        }

        // The bound under which `q` of the purchases between two readings finished.
        function percentile(now, then, q) {
          if (!then || now.length !== then.length) return null;
          const total = now[now.length - 1][1] - then[then.length - 1][1];
          if (total <= 0) return null;
          for (let i = 0; i < now.length; i++) {
            if (now[i][1] - then[i][1] >= q * total) return now[i][0];
          }
          return null;
        }

        function ms(seconds) {
          if (seconds === null) return "–";
          return seconds === Infinity ? "over the largest bucket" : "≤ " + Math.round(seconds * 1000) + " ms";
        }

        function render(status, sales, orders, histogram) {
          const now = performance.now();
          const dt = before ? (now - before.at) / 1000 : 0;
          $("node").textContent = "node " + status.node + " · " + status.version;
          const health = [
            "redis " + (status.redis.ok ? "ok" : "DOWN"), "sqlite " + (status.sqlite.ok ? "ok" : "FAILING"),
            status.pending + " pending", status.inflight + " in flight", status.orders + " orders on this node",
          ];
          if (status.delivery) health.push("delivery " + (status.delivery.ok ? "ok" : "FAILING") + ", " + status.delivery.lag_changes + " waiting");
          $("health").textContent = health.join(" · ");
          $("health").className = status.redis.ok && status.sqlite.ok ? "muted" : "bad";

          const body = $("sales").tBodies[0];
          body.replaceChildren();
          for (const s of sales.sales) {
            const tr = document.createElement("tr");
            tr.dataset.item = s.item;
            tr.append(cell(s.item), cell(s.round), cell(s.redis_behind ? "STOPPED" : (s.state || "open"), s.redis_behind ? "bad" : ""));
            tr.append(cell(s.stock_remaining + " of " + s.stock_total));
            const bar = document.createElement("td");
            const fill = document.createElement("span");
            fill.className = "bar";
            fill.style.width = (s.stock_total > 0 ? 100 * s.stock_remaining / s.stock_total : 0) + "px";
            bar.append(fill);
            tr.append(bar, cell(s.stock_taken), cell(s.orders), cell(s.pending));
            tr.append(cell(s.hold_seconds ? [s.held, s.confirmed, s.released].map((n) => n || 0).join(" / ") : "–"));
            const was = before && before.taken[s.item + "/" + s.round];
            tr.append(cell(was !== undefined && dt > 0 ? ((s.stock_taken - was) / dt).toFixed(1) : "–"));
            body.append(tr);
          }
          if (sales.sales.length === 0) {
            const tr = document.createElement("tr");
            tr.append(cell("no sales yet: flashsalectl sale create ITEM --stock N"));
            body.append(tr);
          }

          const ordered = (status.counters.ordered || 0) + (status.counters.replayed || 0);
          const rate = before && dt > 0 ? ((ordered - before.ordered) / dt).toFixed(1) : "–";
          $("rates").textContent = "purchases answered with an order: " + rate + "/s · latency p50 "
            + ms(percentile(histogram, before && before.histogram, 0.5)) + ", p99 "
            + ms(percentile(histogram, before && before.histogram, 0.99)) + " (since the last refresh)";

          const list = $("orders").tBodies[0];
          list.replaceChildren();
          for (const o of orders.orders) {
            const tr = document.createElement("tr");
            tr.append(cell(o.order_id), cell(o.item), cell(o.user), cell(o.request_id), cell(o.state || "final"),
                      cell(new Date(o.created_ms).toLocaleString()));
            list.append(tr);
          }

          const taken = {};
          for (const s of sales.sales) taken[s.item + "/" + s.round] = s.stock_taken;
          before = { at: now, ordered, taken, histogram };
          refreshes += 1;
          $("updated").textContent = "updated " + new Date().toLocaleTimeString() + " · refresh " + refreshes;
          $("updated").dataset.refreshes = String(refreshes);
        }

        async function refresh() {
          try {
            const [status, sales, orders, metrics] = await Promise.all([
              json("/v1/status"), json("/v1/sales"), json("/v1/orders?limit=10"),
              fetch("/metrics", { cache: "no-store" }).then((r) => r.text()),
            ]);
            render(status, sales, orders, buckets(metrics));
            $("error").textContent = "";
          } catch (e) {
            $("error").textContent = "flashd did not answer: " + e.message;
          }
        }

        $("lookup").addEventListener("submit", async (event) => {
          event.preventDefault();
          const id = $("order-id").value.trim();
          if (!id) return;
          try {
            $("found").textContent = JSON.stringify(await json("/v1/orders/" + encodeURIComponent(id)), null, 2);
          } catch (e) {
            $("found").textContent = e.message;
          }
        });

        refresh();
        setInterval(refresh, 1000);
        </script>
        </body>
        </html>

        """#

    static let response = Response(status: .ok, body: Array(html.utf8), headers: [("Content-Type", "text/html; charset=utf-8")])
}
