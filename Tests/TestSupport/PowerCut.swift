import Foundation

/// A power cut for a flashd whose journal runs on the power-cut VFS (FLASHD_TEST_POWER_CUT=1):
/// after the process is killed, every journal file goes back to its image as of its last
/// sync (FILE.synced), and the WAL index (-shm), which is memory, goes. What was written but
/// not synced is lost, as the machine losing power would lose it.
public enum PowerCut {
    public static let environment = ["FLASHD_TEST_POWER_CUT": "1"]

    /// Rolls `stateDir`'s journal back to its last syncs; returns how many files lost writes.
    @discardableResult
    public static func rollBack(stateDir: String) throws -> Int {
        let fm = FileManager.default
        var changed = 0
        for name in try fm.contentsOfDirectory(atPath: stateDir) {
            let path = stateDir + "/" + name
            if name.hasSuffix("-shm") {
                try fm.removeItem(atPath: path)
            } else if name.hasSuffix(".synced") {
                let file = String(path.dropLast(".synced".count))
                let image = try Data(contentsOf: URL(fileURLWithPath: path))
                let current = (try? Data(contentsOf: URL(fileURLWithPath: file))) ?? Data()
                if image != current { changed += 1 }
                try image.write(to: URL(fileURLWithPath: file))
            }
        }
        return changed
    }
}
