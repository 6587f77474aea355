import ArgumentParser

/// flashsalectl's exit codes, documented in `flashsalectl --help` and the README.
enum Exit {
    static let ok: Int32 = 0
    static let failure: Int32 = 1
    static let soldOut: Int32 = 3
    /// `status`: flashd answers but can't sell as it should (Redis down, the journal failing,
    /// an item stopped because Redis is behind, the node id not held, draining), as
    /// `systemctl is-active` says 3 for a unit that is not active.
    static let degraded: Int32 = 3
    static let limitReached: Int32 = 4
    /// Refused for another reason: rolled back, sale reset meanwhile, fault injected, the sale
    /// not open yet, closed or paused; a confirm of a released order, a cancel of a confirmed
    /// or final one.
    static let refused: Int32 = 5
    /// `audit`: consistent so far, but transactions are still pending.
    static let pending: Int32 = 6
    /// `audit`: stock taken in Redis and orders disagree.
    static let drift: Int32 = 7
    /// flashd is not running, the connection broke mid-request, or flashd answered 503 (Redis or
    /// the journal unavailable, shutting down): retry with the same request id.
    static let unavailable: Int32 = 69

    static let help = """
        Exit codes: 0 success; 1 error; 3 sold out (status: degraded); 4 per-user limit reached; 5 purchase refused \
        otherwise (rolled back, sale reset, injected fault, sale not open, closed or paused), or a confirm or cancel refused \
        (released, confirmed, final); 6 audit found pending transactions; \
        7 audit found drift; 64 bad usage; 69 flashd unreachable, connection lost or unavailable (503): retry with the same request id.
        """
}
