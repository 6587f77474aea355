import CPowerCut

/// The power-cut VFS (`Sources/CPowerCut`): the journal's files each keep an image as of their
/// last successful sync (FILE.synced). Copying the images over the files after a SIGKILL gives
/// what a power cut would have left. For tests: flashd registers it only with fault injection
/// and FLASHD_TEST_POWER_CUT=1.
public enum PowerCutVFS {
    public static let name = "flashd-powercut"

    /// Registers the VFS (once) and returns its name for `SQLiteDatabase(path:vfs:)`.
    public static func register() throws -> String {
        let rc = flashd_powercut_register()
        guard rc == 0 else { throw SQLiteError(code: rc, message: "cannot register the power-cut VFS") }
        return name
    }
}
