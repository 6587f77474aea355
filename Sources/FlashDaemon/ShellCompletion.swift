import FoundationEssentials

/// flashd's shell completions, written from `Setting.all` like its help and man page: every
/// setting's flag, and its values where the shell can know them (files, directories, groups,
/// a fixed list). ArgumentParser's own scripts know only --config, since the settings reach
/// flashd as unrecognized arguments; the .deb ships these instead.
public enum ShellCompletion {
    enum Values: Equatable {
        case none, file, directory, group
        case choices([String])
    }

    /// What completes the value of `--config` and each setting, from its value name.
    static func values(_ valueName: String?) -> Values {
        switch valueName {
        case "path", "file": return .file
        case "dir": return .directory
        case "group": return .group
        case let name? where name.contains("|"): return .choices(name.split(separator: "|").map(String.init))
        default: return .none
        }
    }

    /// Every flag and what completes its value (nil: a switch, no value).
    static var flags: [(flag: String, values: Values?, help: String)] {
        [("--config", Values.file, ManPage.configHelp), ("--help", nil, "Show help."), ("--version", nil, "Show the version.")]
            + Setting.all.map { ($0.flag, $0.isSwitch ? nil : values($0.valueName), $0.help) }
    }

    public static func render(shell: String) -> String? {
        switch shell {
        case "bash": return bash()
        case "zsh": return zsh()
        case "fish": return fish()
        default: return nil
        }
    }

    static func bash() -> String {
        var cases: [String] = []
        for kind in [Values.file, .directory, .group] {
            let names = flags.filter { $0.values == kind }.map(\.flag)
            guard !names.isEmpty else { continue }
            let action = kind == .file ? "-f" : kind == .directory ? "-d" : "-g"
            cases.append("        \(names.joined(separator: "|"))) COMPREPLY=($(compgen \(action) -- \"$cur\")); return ;;")
        }
        for f in flags {
            if case .choices(let words)? = f.values {
                cases.append("        \(f.flag)) COMPREPLY=($(compgen -W \"\(words.joined(separator: " "))\" -- \"$cur\")); return ;;")
            }
        }
        // Any other value (a number, a URL, a name): nothing to offer, and no flags either.
        let free = flags.filter { $0.values == Values.none }.map(\.flag)
        cases.append("        \(free.joined(separator: "|"))) COMPREPLY=(); return ;;")
        return """
            # bash completion for flashd, written from its settings (flashd --print-completion bash).
            _flashd() {
                local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
                case "$prev" in
            \(cases.joined(separator: "\n"))
                esac
                COMPREPLY=($(compgen -W "\(flags.map(\.flag).joined(separator: " "))" -- "$cur"))
            }
            complete -o filenames -F _flashd flashd

            """
    }

    static func zsh() -> String {
        let specs = flags.map { f -> String in
            let help = firstSentence(f.help).replacingOccurrences(of: "'", with: "'\\''")
                .replacingOccurrences(of: "[", with: "\\[").replacingOccurrences(of: "]", with: "\\]")
                .replacingOccurrences(of: ":", with: "\\:")
            let value: String
            switch f.values {
            case nil: value = ""
            case .file?: value = ":file:_files"
            case .directory?: value = ":directory:_files -/"
            case .group?: value = ":group:_groups"
            case .choices(let words)?: value = ":value:(\(words.joined(separator: " ")))"
            case Values.none?: value = ":value: "
            }
            return "    '\(f.flag)[\(help)]\(value)'"
        }
        return """
            #compdef flashd
            # zsh completion for flashd, written from its settings (flashd --print-completion zsh).
            _arguments -s \\
            \(specs.joined(separator: " \\\n"))

            """
    }

    static func fish() -> String {
        var lines = ["# fish completion for flashd, written from its settings (flashd --print-completion fish)."]
        for f in flags {
            let help = firstSentence(f.help).replacingOccurrences(of: "'", with: "\\'")
            var line = "complete -c flashd -l \(f.flag.dropFirst(2)) -d '\(help)'"
            switch f.values {
            case nil: break
            case .file?: line += " -r -F"
            case .directory?: line += " -x -a '(__fish_complete_directories)'"
            case .group?: line += " -x -a '(__fish_complete_groups)'"
            case .choices(let words)?: line += " -x -a '\(words.joined(separator: " "))'"
            case Values.none?: line += " -x"
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func firstSentence(_ text: String) -> String {
        guard let end = text.range(of: ". ") else { return text.hasSuffix(".") ? String(text.dropLast()) : text }
        return String(text[..<end.lowerBound])
    }
}
