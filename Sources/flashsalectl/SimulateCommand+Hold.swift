import ArgumentParser
import Control

#if canImport(Glibc)
import Glibc
#endif

/// The seed extended with a checkout hold: the buyers pay at once, but the crashed purchase's
/// buyer never does; its unit returns to the sale when the hold runs out and goes to the next buyer.
extension SimulateCommand {
    /// Returns whether the unpaid unit came back and sold again.
    func playHold(_ holdSeconds: Int, unpaid: String, runID: String, out: Output) throws -> Bool {
        out.line("the buyers paid and the shop confirmed their orders; \(unpaid)'s buyer never pays")
        let started = Self.now()
        var state = "held"
        while state != "released" && Self.now() - started < Double(holdSeconds) + timeout {
            usleep(100_000)
            let order: API.Order = try global.perform { try $0.call("GET", "/v1/orders/\(unpaid)") }
            state = order.state ?? "?"
        }
        guard state == "released" else {
            out.line("\(unpaid) still \(state) after \(format2(Self.now() - started)) s: NOT released")
            return false
        }
        out.line("after \(format2(Self.now() - started)) s its hold ran out: the unit went back to the sale")
        // The next buyer gets it (within the sold-out refresh, on any node).
        let next = API.Buy(item: item, user: "next-\(runID)", requestID: "next-\(runID)")
        var bought: API.Order?
        let asked = Self.now()
        while bought == nil && Self.now() - asked < 5 {
            do {
                bought = try global.client().call("POST", "/v1/purchases", body: next)
            } catch let e as ControlError where e.apiError?.body.error == "sold_out" {
                usleep(100_000)
            } catch let e as ControlError {
                throw global.fail(e)
            }
        }
        guard let bought else {
            out.line("the next buyer found it sold out: the unit did NOT come back")
            return false
        }
        let _: API.Order = try global.perform { try $0.call("POST", "/v1/orders/\(bought.orderID)/confirm", body: API.Decide()) }
        out.line("the next buyer got it: \(bought.orderID), confirmed")
        return true
    }
}
