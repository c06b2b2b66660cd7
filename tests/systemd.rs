//! The shipped systemd unit: `systemd-analyze verify` finds nothing to say, and the hardening the
//! design asks for is there.

use std::process::Command;

mod common;

fn verify(unit_text: &str) -> (bool, String) {
    verify_as(unit_text, "plazo.service", "plazo.service")
}

/// Verifies `unit_text` written as `file`, naming the unit `name` (an instance of a template).
fn verify_as(unit_text: &str, file: &str, name: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(file);
    // systemd checks that ExecStart exists: point it at the binary under test.
    let text = unit_text.replace("/usr/local/bin/plazo", env!("CARGO_BIN_EXE_plazo"));
    std::fs::write(&path, text).expect("write unit");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(name)
        .current_dir(dir.path())
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
fn the_template_unit_runs_one_instance_per_config() {
    let template =
        std::fs::read_to_string(common::root().join("systemd/plazo@.service")).expect("unit");
    let (ok, stderr) = verify_as(&template, "plazo@.service", "plazo@studio.service");
    assert!(ok, "systemd-analyze verify plazo@studio.service:\n{stderr}");
    let (ok, _) = verify_as(
        &template.replace("Type=notify", "Typo=notify"),
        "plazo@.service",
        "plazo@studio.service",
    );
    assert!(!ok, "a misspelt key must be reported");
    for line in [
        "ExecStart=/usr/local/bin/plazo run --config /etc/plazo/%i.toml",
        "StateDirectory=plazo/%i",
        "LoadCredential=imap:/etc/plazo/%i.imap.password",
    ] {
        assert!(template.lines().any(|l| l == line), "missing {line}");
    }
    // Every other line is the single unit's: the hardening stays the same.
    let single = unit();
    let settings = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.contains("%i"))
            .map(str::to_string)
            .collect()
    };
    let mut template_settings = settings(&template);
    template_settings.retain(|l| !l.starts_with("SyslogIdentifier="));
    assert_eq!(
        template_settings,
        settings(&single)
            .into_iter()
            .filter(|l| !l.contains("/etc/plazo/")
                && !l.starts_with("Description=")
                && l != "StateDirectory=plazo")
            .collect::<Vec<_>>()
    );
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

/// The README's install steps give a config the service's dynamic user can read: a config
/// installed as the unit's header says (0644 in a 0755 folder, owned by root) is read by an
/// unprivileged user, and one installed 0600 is not (the mistake this guards against).
#[test]
fn the_documented_config_mode_is_readable_by_the_service_user() {
    assert!(
        unsafe { libc::geteuid() } == 0,
        "this test acts as the service's user: run it as root (scripts/test and CI do)"
    );
    let unit = unit();
    assert!(
        unit.contains("install -D -m 0644 config.toml /etc/plazo/config.toml"),
        "the unit's header documents a mode the service can read"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let etc = dir.path().join("etc/plazo");
    std::fs::create_dir_all(&etc).expect("mkdir");
    use std::os::unix::fs::PermissionsExt;
    for d in [
        dir.path().to_path_buf(),
        dir.path().join("etc"),
        etc.clone(),
    ] {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let config = etc.join("config.toml");
    let check_as_nobody = |mode: u32| {
        let status = Command::new("install")
            .args(["-m", &format!("{mode:o}")])
            .arg(common::root().join("config.example.toml"))
            .arg(&config)
            .status()
            .expect("install");
        assert!(status.success());
        // As a user that owns nothing, like DynamicUser=yes.
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_plazo"))
            .args(["check", "--offline", "--config"])
            .arg(&config)
            .output()
            .expect("setpriv (util-linux)");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = check_as_nobody(0o644);
    assert_eq!(
        code,
        Some(0),
        "0644 is readable by the service user:\n{out}"
    );
    let (code, out) = check_as_nobody(0o600);
    assert_eq!(code, Some(78), "0600 is not:\n{out}");
    assert!(
        out.contains("Permission denied") || out.contains("cannot read"),
        "{out}"
    );
}
