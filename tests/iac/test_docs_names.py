"""The names a user meets are documented where a user looks: every `errorType` the functions
answer is in docs/interface.md's table of errors; every environment variable the configuration
reads is in docs/interface.md and in the README's configuration list; every binary is named in
both. The names are read from the code itself (shared/src/error.rs's `error_type` module,
shared/src/config.rs's `*_VAR` constants, functions/*/Cargo.toml), so a new one cannot be left
out of the docs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INTERFACE = (ROOT / "docs" / "interface.md").read_text()
README = (ROOT / "README.md").read_text()


def _section(text, heading):
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start:end if end >= 0 else len(text)]


def _error_types():
    source = (ROOT / "shared" / "src" / "error.rs").read_text()
    module = source[source.index("pub mod error_type {"):]
    module = module[:module.index("\n}\n")]
    return re.findall(r'pub const \w+: &str = "([^"]+)";', module)


def _environment_variables():
    return re.findall(r'pub const \w+_VAR: &str = "([^"]+)";', (ROOT / "shared" / "src" / "config.rs").read_text())


def _binaries():
    found = [re.search(r'\[\[bin\]\]\nname = "([^"]+)"', path.read_text()) for path in (ROOT / "functions").glob("*/Cargo.toml")]
    assert all(found), "every function crate names its [[bin]]"
    return sorted(match.group(1) for match in found if match)


def test_every_error_type_is_in_the_interface_s_table_of_errors():
    table = "\n".join(line for line in _section(INTERFACE, "## Errors").splitlines() if line.startswith("|"))
    names = _error_types()
    assert len(names) >= 9, names
    # A prefix ("Glue.") is documented as its pattern ("Glue.<code>").
    missing = [name for name in names if f"`{name}<code>`" not in table and f"`{name}`" not in table]
    assert missing == [], f"errorType names missing from docs/interface.md's Errors table: {missing}"


def test_every_environment_variable_is_documented_in_both_places():
    names = _environment_variables()
    assert len(names) >= 14, names
    configuration = _section(README, "## Configuration")
    missing = {"docs/interface.md": [n for n in names if n not in INTERFACE],
               "README.md, Configuration": [n for n in names if n not in configuration]}
    assert missing == {"docs/interface.md": [], "README.md, Configuration": []}, missing


def test_every_binary_is_named_in_both_places():
    binaries = _binaries()
    assert len(binaries) == 5, binaries
    missing = {"docs/interface.md": [b for b in binaries if b not in INTERFACE],
               "README.md": [b for b in binaries if b not in README]}
    assert missing == {"docs/interface.md": [], "README.md": []}, missing
