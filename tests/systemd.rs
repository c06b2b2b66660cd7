//! The shipped systemd unit: `systemd-analyze verify` finds nothing to say, and the hardening the
//! design asks for is there.

use std::process::Command;

mod common;

fn verify(unit_text: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("plazo.service");
    // systemd checks that ExecStart exists: point it at the binary under test.
    let text = unit_text.replace("/usr/local/bin/plazo", env!("CARGO_BIN_EXE_plazo"));
    std::fs::write(&path, text).expect("write unit");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze (Debian package systemd) must be installed");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success() && stderr.trim().is_empty(), stderr)
}

fn unit() -> String {
    std::fs::read_to_string(common::root().join("systemd/plazo.service")).expect("unit")
}

#[test]
fn systemd_analyze_verify_is_clean() {
    let (ok, stderr) = verify(&unit());
    assert!(ok, "systemd-analyze verify:\n{stderr}");
    // And it does complain about a broken unit, so the check above means something.
    let (ok, stderr) = verify(&unit().replace("Type=notify", "Typo=notify"));
    assert!(!ok, "a misspelt key must be reported: {stderr}");
}

#[test]
fn unit_has_the_hardening_of_the_design() {
    let unit = unit();
    for line in [
        "Type=notify",
        "RestartPreventExitStatus=78",
        "DynamicUser=yes",
        "StateDirectory=plazo",
        "LoadCredential=imap:",
        "LoadCredential=smtp:",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit.lines().any(|l| l.starts_with(line)), "missing {line}");
    }
}
