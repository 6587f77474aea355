/// flashd's API as an OpenAPI 3.1 document: served at `GET /v1/openapi.json`, shipped in the
/// .deb (`/usr/share/doc/flashd/openapi.json`), and the contract every response of the
/// end-to-end tests is checked against (`TestSupport/OpenAPIContract`), so it can't drift from
/// what flashd answers. Response objects forbid properties they don't list: a field added to
/// an answer fails the tests until it is documented here.
public enum OpenAPI {
    public static let document = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "flashd",
    "version": "0.1.0",
    "description": "flashd's HTTP/1.1 + JSON API on its Unix socket. Buyers' verbs (tag buyer) may face the Internet behind packaging/nginx/flashd.conf; the shop's (shop) come from its payment system; the rest (operator) stay on the host. Admin verbs need root or the admin group (SO_PEERCRED). Every response the end-to-end tests receive is validated against this document."
  },
  "servers": [
    {
      "url": "http://localhost",
      "description": "Over the Unix socket (/run/flashd/flashd.sock): curl --unix-socket"
    }
  ],
  "tags": [
    {
      "name": "buyer"
    },
    {
      "name": "shop"
    },
    {
      "name": "operator"
    }
  ],
  "paths": {
    "/": {
      "get": {
        "summary": "The live sale page",
        "operationId": "salePage",
        "tags": [
          "operator"
        ],
        "description": "Every sale's stock, rates, latency, pending transactions and recent orders, refreshed every second, with an order lookup. Also on the --metrics-listen TCP listener.",
        "responses": {
          "200": {
            "description": "HTML with its script; no build step, no CDN.",
            "content": {
              "text/html": {}
            }
          }
        }
      }
    },
    "/v1/ping": {
      "get": {
        "summary": "Liveness",
        "operationId": "ping",
        "responses": {
          "200": {
            "description": "Alive.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Ping"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "tags": [
          "operator"
        ]
      }
    },
    "/v1/status": {
      "get": {
        "summary": "The node's health and counters",
        "operationId": "status",
        "responses": {
          "200": {
            "description": "Status.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Status"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "tags": [
          "operator"
        ]
      }
    },
    "/v1/openapi.json": {
      "get": {
        "summary": "This document",
        "operationId": "openapi",
        "tags": [
          "operator"
        ],
        "responses": {
          "200": {
            "description": "The OpenAPI document.",
            "content": {
              "application/json": {}
            }
          }
        }
      }
    },
    "/metrics": {
      "get": {
        "summary": "Prometheus metrics",
        "operationId": "metrics",
        "tags": [
          "operator"
        ],
        "responses": {
          "200": {
            "description": "Text exposition format 0.0.4.",
            "content": {
              "text/plain": {}
            }
          }
        }
      }
    },
    "/v1/sales": {
      "get": {
        "summary": "Every sale",
        "operationId": "listSales",
        "responses": {
          "200": {
            "description": "The sales.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Sales"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "tags": [
          "operator"
        ]
      },
      "post": {
        "summary": "Create a sale (admin)",
        "operationId": "createSale",
        "responses": {
          "201": {
            "description": "Created in round 1.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Sale"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/CreateSale"
              }
            }
          }
        },
        "tags": [
          "operator"
        ]
      }
    },
    "/v1/sales/{item}": {
      "get": {
        "summary": "One sale",
        "operationId": "showSale",
        "responses": {
          "200": {
            "description": "The sale.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Sale"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "name": "item",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[A-Za-z0-9_.@-]{1,64}$"
            }
          }
        ],
        "tags": [
          "buyer"
        ]
      }
    },
    "/v1/sales/{item}/restock": {
      "post": {
        "summary": "Add stock (admin)",
        "operationId": "restock",
        "responses": {
          "200": {
            "description": "Restocked.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Sale"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/Restock"
              }
            }
          }
        },
        "parameters": [
          {
            "name": "item",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[A-Za-z0-9_.@-]{1,64}$"
            }
          }
        ],
        "tags": [
          "operator"
        ]
      }
    },
    "/v1/sales/{item}/reset": {
      "post": {
        "summary": "Start a new round (admin)",
        "operationId": "reset",
        "responses": {
          "200": {
            "description": "The new round.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Sale"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/Reset"
              }
            }
          }
        },
        "parameters": [
          {
            "name": "item",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[A-Za-z0-9_.@-]{1,64}$"
            }
          }
        ],
        "tags": [
          "operator"
        ]
      }
    },
    "/v1/sales/{item}/repair": {
      "post": {
        "summary": "Re-apply deductions Redis lost (admin, G9)",
        "operationId": "repair",
        "responses": {
          "200": {
            "description": "What was (or would be) repaired.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RepairReport"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "requestBody": {
          "required": false,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/Repair"
              }
            }
          }
        },
        "parameters": [
          {
            "name": "item",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[A-Za-z0-9_.@-]{1,64}$"
            }
          }
        ],
        "tags": [
          "operator"
        ]
      }
    },
    "/v1/sales/{item}/pause": {
      "post": {
        "summary": "Pause a sale (admin)",
        "operationId": "pause",
        "responses": {
          "200": {
            "description": "Paused.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Sale"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "name": "item",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[A-Za-z0-9_.@-]{1,64}$"
            }
          }
        ],
        "tags": [
          "operator"
        ]
      }
    },
    "/v1/sales/{item}/resume": {
      "post": {
        "summary": "Resume a sale (admin)",
        "operationId": "resume",
        "responses": {
          "200": {
            "description": "Resumed.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Sale"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "name": "item",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[A-Za-z0-9_.@-]{1,64}$"
            }
          }
        ],
        "tags": [
          "operator"
        ]
      }
    },
    "/v1/purchases": {
      "post": {
        "summary": "Buy one unit",
        "operationId": "buy",
        "responses": {
          "201": {
            "description": "Ordered (or the replay of an order: replayed true).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Order"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/Buy"
              }
            }
          }
        },
        "parameters": [
          {
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "The request id, as web tiers send it; given with a different request_id: 400."
          }
        ],
        "tags": [
          "buyer"
        ]
      }
    },
    "/v1/orders": {
      "get": {
        "summary": "Orders, newest first; or the feed of changes with after",
        "operationId": "listOrders",
        "responses": {
          "200": {
            "description": "A page of orders (Orders), or with after a page of the feed (Changes).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/OrdersOrChanges"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "name": "user",
            "in": "query",
            "required": false,
            "description": "Only this buyer's.",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "item",
            "in": "query",
            "required": false,
            "description": "Only this item's.",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "request_id",
            "in": "query",
            "required": false,
            "description": "Only this request's (needs user).",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "state",
            "in": "query",
            "required": false,
            "description": "Only holds in this state.",
            "schema": {
              "type": "string",
              "enum": [
                "held",
                "confirming",
                "releasing",
                "confirmed",
                "released"
              ]
            }
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "description": "At most this many, 1-1000 (default 100).",
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000
            }
          },
          {
            "name": "before",
            "in": "query",
            "required": false,
            "description": "The cursor the previous page ended with.",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "after",
            "in": "query",
            "required": false,
            "description": "The feed instead: changes after this cursor (0: the start, end: the newest); no other filter.",
            "schema": {
              "type": "string"
            }
          }
        ],
        "tags": [
          "operator"
        ]
      }
    },
    "/v1/orders/{order_id}": {
      "get": {
        "summary": "One order, by id",
        "operationId": "showOrder",
        "responses": {
          "200": {
            "description": "The order.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Order"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "name": "order_id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "tags": [
          "buyer"
        ]
      }
    },
    "/v1/orders/{order_id}/confirm": {
      "post": {
        "summary": "Confirm a held order (payment succeeded)",
        "operationId": "confirm",
        "responses": {
          "200": {
            "description": "Confirmed (replayed if it was).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Order"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "requestBody": {
          "required": false,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/Decide"
              }
            }
          }
        },
        "parameters": [
          {
            "name": "order_id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "tags": [
          "shop"
        ]
      }
    },
    "/v1/orders/{order_id}/cancel": {
      "post": {
        "summary": "Cancel a held order: its unit goes back",
        "operationId": "cancel",
        "responses": {
          "200": {
            "description": "Released.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Order"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "requestBody": {
          "required": false,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/Decide"
              }
            }
          }
        },
        "parameters": [
          {
            "name": "order_id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "tags": [
          "shop"
        ]
      }
    },
    "/v1/txns": {
      "get": {
        "summary": "Global transactions, newest first",
        "operationId": "listTxns",
        "responses": {
          "200": {
            "description": "A page.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Txns"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "name": "state",
            "in": "query",
            "required": false,
            "description": "Only this state.",
            "schema": {
              "type": "string",
              "enum": [
                "prepared",
                "succeeded",
                "failed"
              ]
            }
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "description": "At most this many, 1-1000 (default 100).",
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000
            }
          },
          {
            "name": "before",
            "in": "query",
            "required": false,
            "description": "The cursor the previous page ended with.",
            "schema": {
              "type": "string"
            }
          }
        ],
        "tags": [
          "operator"
        ]
      }
    },
    "/v1/audit": {
      "get": {
        "summary": "Redis against the journal, per item (G1, G2)",
        "operationId": "audit",
        "responses": {
          "200": {
            "description": "The audit.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Audit"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "parameters": [
          {
            "name": "orders_db",
            "in": "query",
            "required": false,
            "description": "1: compare with PostgreSQL too.",
            "schema": {
              "type": "string",
              "enum": [
                "1",
                "0",
                "true",
                "false"
              ]
            }
          }
        ],
        "tags": [
          "operator"
        ]
      }
    },
    "/v1/delivery": {
      "post": {
        "summary": "Pause or resume delivery to PostgreSQL (admin)",
        "operationId": "controlDelivery",
        "responses": {
          "200": {
            "description": "Delivery now.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Delivery"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/DeliveryControl"
              }
            }
          }
        },
        "tags": [
          "operator"
        ]
      }
    },
    "/v1/debug/stock-script": {
      "get": {
        "summary": "The purchase script's SHA and Redis (bench)",
        "operationId": "stockScript",
        "responses": {
          "200": {
            "description": "The script.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/StockScript"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "tags": [
          "operator"
        ]
      }
    },
    "/v1/debug/wedge": {
      "post": {
        "summary": "Stop the event loop's watchdog pings (fault injection, admin)",
        "operationId": "wedge",
        "responses": {
          "202": {
            "description": "Wedged.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Wedged"
                }
              }
            }
          },
          "default": {
            "$ref": "#/components/responses/Error"
          }
        },
        "tags": [
          "operator"
        ]
      }
    }
  },
  "components": {
    "schemas": {
      "Error": {
        "type": "object",
        "properties": {
          "error": {
            "type": "string",
            "description": "A stable code, one of the list in flashsalectl(1) and the README.",
            "enum": [
              "sold_out",
              "limit_reached",
              "rolled_back",
              "sale_reset",
              "unknown_sale",
              "unknown_order",
              "not_open",
              "closed",
              "paused",
              "released",
              "confirmed",
              "final",
              "invalid_input",
              "sale_exists",
              "sale_pending",
              "redis_unavailable",
              "replicas_behind",
              "redis_behind",
              "journal_unavailable",
              "fault_injected",
              "fault_injection_disabled",
              "forbidden",
              "conflict",
              "shutting_down",
              "sale_busy",
              "node_conflict",
              "delivery_off",
              "orders_db_unavailable",
              "internal",
              "invalid_json",
              "not_found",
              "method_not_allowed",
              "payload_too_large",
              "overloaded"
            ]
          },
          "message": {
            "type": "string",
            "description": "What went wrong, for a person."
          },
          "gid": {
            "type": "string",
            "description": "The global transaction the answer is about."
          },
          "field": {
            "type": "string",
            "description": "The request field that was refused (invalid_input)."
          },
          "request_id": {
            "type": "string",
            "description": "A purchase's request id: retry with it after a 503, and the purchase happens at most once."
          },
          "opens_at": {
            "type": "string",
            "format": "date-time",
            "description": "When a sale that is not open yet opens (not_open)."
          }
        },
        "required": [
          "error",
          "message"
        ],
        "additionalProperties": false,
        "description": "Every error answer. 409 refusals are final for their request id; 503 means retry."
      },
      "Ping": {
        "type": "object",
        "properties": {
          "ok": {
            "const": true
          }
        },
        "required": [
          "ok"
        ],
        "additionalProperties": false
      },
      "Wedged": {
        "type": "object",
        "properties": {
          "wedged": {
            "const": true
          }
        },
        "required": [
          "wedged"
        ],
        "additionalProperties": false
      },
      "Health": {
        "type": "object",
        "properties": {
          "ok": {
            "type": "boolean"
          },
          "target": {
            "type": "string"
          },
          "error": {
            "type": "string"
          }
        },
        "required": [
          "ok",
          "target"
        ],
        "additionalProperties": false
      },
      "Delivery": {
        "type": "object",
        "properties": {
          "target": {
            "type": "string",
            "description": "The PostgreSQL target, without a password."
          },
          "paused": {
            "type": "boolean"
          },
          "ok": {
            "type": "boolean"
          },
          "error": {
            "type": "string"
          },
          "delivered_seq": {
            "type": "integer",
            "description": "The outbox sequence PostgreSQL has up to."
          },
          "newest_seq": {
            "type": "integer"
          },
          "lag_changes": {
            "type": "integer"
          },
          "lag_seconds": {
            "type": "number",
            "description": "Age of the oldest undelivered change."
          },
          "delivered": {
            "type": "integer"
          },
          "batches": {
            "type": "integer"
          },
          "failures": {
            "type": "integer"
          },
          "lag_histogram_ms": {
            "type": "array",
            "description": "[upper bound in ms, count] pairs.",
            "items": {
              "type": "array",
              "items": {
                "type": "integer"
              },
              "minItems": 2,
              "maxItems": 2
            }
          }
        },
        "required": [
          "target",
          "paused",
          "ok",
          "delivered_seq",
          "newest_seq",
          "lag_changes",
          "lag_seconds",
          "delivered",
          "batches",
          "failures",
          "lag_histogram_ms"
        ],
        "additionalProperties": false,
        "description": "Delivery of orders to PostgreSQL (G8)."
      },
      "Status": {
        "type": "object",
        "properties": {
          "version": {
            "type": "string"
          },
          "node": {
            "type": "string"
          },
          "uptime_seconds": {
            "type": "number"
          },
          "redis": {
            "$ref": "#/components/schemas/Health"
          },
          "sqlite": {
            "$ref": "#/components/schemas/Health"
          },
          "sales": {
            "type": "integer"
          },
          "orders": {
            "type": "integer"
          },
          "pending": {
            "type": "integer"
          },
          "inflight": {
            "type": "integer"
          },
          "fault_injection": {
            "type": "boolean"
          },
          "draining": {
            "type": "boolean"
          },
          "counters": {
            "type": "object",
            "additionalProperties": {
              "type": "integer"
            },
            "description": "Running totals since start-up, by name (ordered, sold_out, replayed, answered_from_other_node, ...)."
          },
          "peak_rss_bytes": {
            "type": "integer"
          },
          "redis_behind": {
            "type": "object",
            "additionalProperties": {
              "type": "string"
            },
            "description": "Items whose sales are stopped because Redis holds fewer deductions than a journal proves (G9), with why."
          },
          "delivery": {
            "$ref": "#/components/schemas/Delivery"
          }
        },
        "required": [
          "version",
          "node",
          "uptime_seconds",
          "redis",
          "sqlite",
          "sales",
          "orders",
          "pending",
          "inflight",
          "fault_injection",
          "draining",
          "counters"
        ],
        "additionalProperties": false
      },
      "StockScript": {
        "type": "object",
        "properties": {
          "redis": {
            "type": "string"
          },
          "sha": {
            "type": "string"
          }
        },
        "required": [
          "redis",
          "sha"
        ],
        "additionalProperties": false
      },
      "Sale": {
        "type": "object",
        "properties": {
          "item": {
            "type": "string"
          },
          "round": {
            "type": "integer",
            "description": "Grows by one at every reset."
          },
          "limit_per_user": {
            "type": "integer"
          },
          "stock_total": {
            "type": "integer"
          },
          "stock_remaining": {
            "type": "integer"
          },
          "stock_taken": {
            "type": "integer"
          },
          "orders": {
            "type": "integer",
            "description": "This node's orders of the round."
          },
          "pending": {
            "type": "integer"
          },
          "redis_behind": {
            "type": "string",
            "description": "Why sales of the item are stopped (G9)."
          },
          "state": {
            "type": "string",
            "enum": [
              "open",
              "scheduled",
              "paused",
              "closed"
            ]
          },
          "opens_at": {
            "type": "string",
            "format": "date-time",
            "description": "Opening time."
          },
          "closes_at": {
            "type": "string",
            "format": "date-time",
            "description": "Closing time."
          },
          "hold_seconds": {
            "type": "integer",
            "description": "Orders are held this long for payment."
          },
          "held": {
            "type": "integer"
          },
          "confirmed": {
            "type": "integer"
          },
          "released": {
            "type": "integer"
          }
        },
        "required": [
          "item",
          "round",
          "limit_per_user",
          "stock_total",
          "stock_remaining",
          "stock_taken",
          "orders",
          "pending"
        ],
        "additionalProperties": false
      },
      "Sales": {
        "type": "object",
        "properties": {
          "sales": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Sale"
            }
          }
        },
        "required": [
          "sales"
        ],
        "additionalProperties": false
      },
      "Order": {
        "type": "object",
        "properties": {
          "order_id": {
            "type": "string",
            "description": "ord-GID: any node can look it up, confirm or cancel it."
          },
          "gid": {
            "type": "string"
          },
          "item": {
            "type": "string"
          },
          "round": {
            "type": "integer"
          },
          "user": {
            "type": "string"
          },
          "request_id": {
            "type": "string"
          },
          "created_ms": {
            "type": "integer",
            "description": "Milliseconds since the epoch."
          },
          "replayed": {
            "type": "boolean",
            "description": "This answer repeats an earlier one for the same request id (on this node or another)."
          },
          "state": {
            "type": "string",
            "enum": [
              "held",
              "confirming",
              "releasing",
              "confirmed",
              "released",
              "final"
            ],
            "description": "Where the order's hold stands; final for a sale without a hold."
          },
          "expires_at": {
            "type": "string",
            "format": "date-time",
            "description": "When a held order's hold runs out."
          },
          "release_cause": {
            "type": "string",
            "enum": [
              "cancelled",
              "expired"
            ]
          }
        },
        "required": [
          "order_id",
          "gid",
          "item",
          "round",
          "user",
          "request_id",
          "created_ms"
        ],
        "additionalProperties": false
      },
      "Orders": {
        "type": "object",
        "properties": {
          "orders": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Order"
            }
          },
          "next": {
            "type": "string",
            "description": "Cursor of the next (older) page; absent on the last."
          }
        },
        "required": [
          "orders"
        ],
        "additionalProperties": false
      },
      "Change": {
        "type": "object",
        "properties": {
          "cursor": {
            "type": "string"
          },
          "state": {
            "type": "string",
            "enum": [
              "final",
              "held",
              "confirmed",
              "released"
            ]
          },
          "changed_at": {
            "type": "string",
            "format": "date-time",
            "description": "When the change was journaled."
          },
          "node": {
            "type": "string"
          },
          "order": {
            "$ref": "#/components/schemas/Order"
          }
        },
        "required": [
          "cursor",
          "state",
          "changed_at",
          "node",
          "order"
        ],
        "additionalProperties": false
      },
      "Changes": {
        "type": "object",
        "properties": {
          "changes": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Change"
            }
          },
          "next": {
            "type": "string",
            "description": "The cursor to continue after."
          }
        },
        "required": [
          "changes",
          "next"
        ],
        "additionalProperties": false
      },
      "OrdersOrChanges": {
        "oneOf": [
          {
            "$ref": "#/components/schemas/Orders"
          },
          {
            "$ref": "#/components/schemas/Changes"
          }
        ]
      },
      "Txn": {
        "type": "object",
        "properties": {
          "gid": {
            "type": "string"
          },
          "item": {
            "type": "string"
          },
          "round": {
            "type": "integer"
          },
          "user": {
            "type": "string"
          },
          "request_id": {
            "type": "string"
          },
          "state": {
            "type": "string",
            "enum": [
              "prepared",
              "succeeded",
              "failed"
            ]
          },
          "reason": {
            "type": "string"
          },
          "order_id": {
            "type": "string"
          },
          "created_ms": {
            "type": "integer"
          },
          "updated_ms": {
            "type": "integer"
          },
          "next_check_ms": {
            "type": "integer"
          },
          "attempts": {
            "type": "integer"
          },
          "last_error": {
            "type": "string"
          }
        },
        "required": [
          "gid",
          "item",
          "round",
          "user",
          "request_id",
          "state",
          "created_ms",
          "updated_ms",
          "next_check_ms",
          "attempts"
        ],
        "additionalProperties": false
      },
      "Txns": {
        "type": "object",
        "properties": {
          "txns": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Txn"
            }
          },
          "next": {
            "type": "string"
          }
        },
        "required": [
          "txns"
        ],
        "additionalProperties": false
      },
      "AuditItem": {
        "type": "object",
        "properties": {
          "item": {
            "type": "string"
          },
          "round": {
            "type": "integer"
          },
          "stock_total": {
            "type": "integer"
          },
          "stock_taken": {
            "type": "integer"
          },
          "orders": {
            "type": "integer"
          },
          "pending": {
            "type": "integer"
          },
          "consistent": {
            "type": "boolean"
          },
          "redis_behind": {
            "type": "string"
          },
          "held": {
            "type": "integer"
          },
          "confirmed": {
            "type": "integer"
          },
          "released": {
            "type": "integer"
          },
          "deciding": {
            "type": "integer"
          },
          "orders_db": {
            "type": "integer",
            "description": "Orders of the round in PostgreSQL (with orders_db=1)."
          }
        },
        "required": [
          "item",
          "round",
          "stock_total",
          "stock_taken",
          "orders",
          "pending",
          "consistent"
        ],
        "additionalProperties": false
      },
      "OrdersDBAudit": {
        "type": "object",
        "properties": {
          "target": {
            "type": "string"
          },
          "consistent": {
            "type": "boolean"
          },
          "complete": {
            "type": "boolean"
          },
          "lag_changes": {
            "type": "integer"
          }
        },
        "required": [
          "target",
          "consistent",
          "complete",
          "lag_changes"
        ],
        "additionalProperties": false
      },
      "Audit": {
        "type": "object",
        "properties": {
          "consistent": {
            "type": "boolean"
          },
          "settled": {
            "type": "boolean"
          },
          "items": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/AuditItem"
            }
          },
          "orders_db": {
            "$ref": "#/components/schemas/OrdersDBAudit"
          }
        },
        "required": [
          "consistent",
          "settled",
          "items"
        ],
        "additionalProperties": false
      },
      "RepairReport": {
        "type": "object",
        "properties": {
          "item": {
            "type": "string"
          },
          "round": {
            "type": "integer"
          },
          "node": {
            "type": "string"
          },
          "orders": {
            "type": "integer"
          },
          "missing": {
            "type": "integer"
          },
          "applied": {
            "type": "boolean"
          },
          "stock_remaining": {
            "type": "integer"
          },
          "oversold": {
            "type": "integer"
          },
          "fences_left": {
            "type": "array",
            "items": {
              "type": "string"
            }
          }
        },
        "required": [
          "item",
          "round",
          "node",
          "orders",
          "missing",
          "applied",
          "stock_remaining",
          "oversold",
          "fences_left"
        ],
        "additionalProperties": false
      },
      "CreateSale": {
        "type": "object",
        "properties": {
          "item": {
            "type": "string"
          },
          "stock": {
            "type": "integer"
          },
          "limit_per_user": {
            "type": "integer"
          },
          "opens_at": {
            "type": "string",
            "description": "RFC 3339, or +N with s, m, h or d."
          },
          "closes_at": {
            "type": "string"
          },
          "hold_seconds": {
            "type": "integer"
          }
        },
        "required": [
          "item",
          "stock"
        ],
        "additionalProperties": false
      },
      "Restock": {
        "type": "object",
        "properties": {
          "add": {
            "type": "integer"
          },
          "request_id": {
            "type": "string"
          }
        },
        "required": [
          "add"
        ],
        "additionalProperties": false
      },
      "Reset": {
        "type": "object",
        "properties": {
          "stock": {
            "type": "integer"
          },
          "limit_per_user": {
            "type": "integer"
          },
          "request_id": {
            "type": "string"
          },
          "opens_at": {
            "type": "string"
          },
          "closes_at": {
            "type": "string"
          },
          "hold_seconds": {
            "type": "integer"
          }
        },
        "required": [
          "stock"
        ],
        "additionalProperties": false
      },
      "Repair": {
        "type": "object",
        "properties": {
          "apply": {
            "type": "boolean"
          }
        },
        "required": [],
        "additionalProperties": false
      },
      "Buy": {
        "type": "object",
        "properties": {
          "item": {
            "type": "string"
          },
          "user": {
            "type": "string"
          },
          "request_id": {
            "type": "string",
            "description": "Idempotency key; the Idempotency-Key header does the same."
          },
          "crash_after": {
            "type": "string",
            "description": "Fault injection (admin)."
          },
          "crash_mode": {
            "type": "string",
            "enum": [
              "abandon",
              "exit"
            ]
          }
        },
        "required": [
          "item",
          "user"
        ],
        "additionalProperties": false
      },
      "Decide": {
        "type": "object",
        "properties": {
          "crash_after": {
            "type": "string"
          },
          "crash_mode": {
            "type": "string",
            "enum": [
              "abandon",
              "exit"
            ]
          }
        },
        "required": [],
        "additionalProperties": false
      },
      "DeliveryControl": {
        "type": "object",
        "properties": {
          "paused": {
            "type": "boolean"
          },
          "crash_at": {
            "type": "string"
          }
        },
        "required": [],
        "additionalProperties": false
      }
    },
    "responses": {
      "Error": {
        "description": "An error (see the Error schema).",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      }
    }
  }
}
"""#
}
