//! Trusting the server (first use, pins, changed certificates, a CA),
//! plaintext only by agreement, the site key, and the config file: all
//! through the real `netdisk` binary.

mod common;

use common::*;
use netdisk_proto::SiteKey;
use netdisk_server::Transport;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A client command with no trust settings of its own and its own config dir.
fn client(server: &str, config_home: &Path) -> Command {
    let mut cmd = netdisk();
    cmd.env("NETDISK_SERVER", server)
        .env("NETDISK_USER", "alice")
        .env("NETDISK_PASSWORD", "pw")
        .env("XDG_CONFIG_HOME", config_home);
    cmd
}

fn failed(out: &Output) -> &str {
    assert!(
        !out.status.success(),
        "expected a failure, got: {}",
        out.stdout
    );
    &out.stderr
}

#[test]
fn first_use_pins_the_server_and_a_changed_certificate_is_refused() {
    let server = TestServer::start();
    server.add_user("alice", "pw");
    let addr = server.addr.to_string();
    let fingerprint = server.fingerprint.expect("TLS").to_string();
    let config = server.scratch("config");
    let known_hosts = config.join("netdisk/known_hosts");

    // Not a terminal and not told to: refused, with the fingerprint to check.
    let out = run(client(&addr, &config).arg("pwd"), "");
    let stderr = failed(&out);
    assert!(
        stderr.contains(&fingerprint) && stderr.contains("--accept-new-host"),
        "{stderr}"
    );
    assert!(!known_hosts.exists());

    // Accepted and remembered.
    let out = run(
        client(&addr, &config).args(["pwd", "--accept-new-host"]),
        "",
    );
    assert_eq!(out.ok().stdout.trim(), "~");
    assert!(out.stderr.contains("added"), "{}", out.stderr);
    let pinned = std::fs::read_to_string(&known_hosts).expect("known_hosts");
    assert_eq!(pinned, format!("{addr} {fingerprint}\n"));

    // From now on it is known.
    let out = run(client(&addr, &config).arg("pwd"), "");
    assert_eq!(out.ok().stdout.trim(), "~");

    // The pin no longer matches: refused loudly, naming the file and line.
    let other = netdisk_proto::Fingerprint::of_certificate(b"another server");
    std::fs::write(
        &known_hosts,
        format!("# pins\nelsewhere:1 {fingerprint}\n{addr} {other}\n"),
    )
    .expect("rewrite");
    let out = run(
        client(&addr, &config).args(["pwd", "--accept-new-host"]),
        "",
    );
    let stderr = failed(&out);
    assert!(stderr.contains("CHANGED"), "{stderr}");
    assert!(
        stderr.contains(&known_hosts.display().to_string()) && stderr.contains("line 3"),
        "{stderr}"
    );

    // A fingerprint given on the command line must match exactly.
    let out = run(
        client(&addr, &config).args(["pwd", "--fingerprint", &other.to_string()]),
        "",
    );
    assert!(failed(&out).contains("not the expected"), "{}", out.stderr);
    let out = run(
        client(&addr, &config).args(["pwd", "--fingerprint", &fingerprint]),
        "",
    );
    assert_eq!(out.ok().stdout.trim(), "~");
}

struct Authority {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl Authority {
    fn new(name: &str) -> Authority {
        let key = rcgen::KeyPair::generate().expect("CA key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params.self_signed(&key).expect("CA cert");
        Authority { cert, key }
    }

    /// Writes a server certificate for `names`, signed by this CA; returns (cert, key) paths.
    fn issue(&self, dir: &Path, names: &[&str]) -> (PathBuf, PathBuf) {
        let key = rcgen::KeyPair::generate().expect("key");
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let cert = rcgen::CertificateParams::new(names)
            .expect("params")
            .signed_by(&key, &self.cert, &self.key)
            .expect("sign");
        let (cert_path, key_path) = (dir.join("server.pem"), dir.join("server.key"));
        std::fs::write(&cert_path, cert.pem()).expect("cert");
        std::fs::write(&key_path, key.serialize_pem()).expect("key");
        (cert_path, key_path)
    }

    fn write(&self, path: &Path) {
        std::fs::write(path, self.cert.pem()).expect("CA file");
    }
}

#[test]
fn a_ca_signed_certificate_is_trusted_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let authority = Authority::new("netdisk test CA");
    let (cert, key) = authority.issue(dir.path(), &["localhost"]);
    let ca_file = dir.path().join("ca.pem");
    authority.write(&ca_file);
    let stranger = dir.path().join("stranger.pem");
    Authority::new("someone else").write(&stranger);

    let server = TestServer::start_with(|c| c.transport = Transport::TlsWith { cert, key });
    server.add_user("alice", "pw");
    let config = server.scratch("config");
    let by_name = format!("localhost:{}", server.addr.port());
    let out = run(
        client(&by_name, &config)
            .args(["pwd", "--ca"])
            .arg(&ca_file),
        "",
    );
    assert_eq!(out.ok().stdout.trim(), "~");
    assert!(
        !config.join("netdisk/known_hosts").exists(),
        "CA mode pins nothing"
    );

    // Signed by another CA: refused.
    let out = run(
        client(&by_name, &config)
            .args(["pwd", "--ca"])
            .arg(&stranger),
        "",
    );
    assert!(failed(&out).contains("TLS"), "{}", out.stderr);
    // The certificate does not name the address used: refused.
    let out = run(
        client(&server.addr.to_string(), &config)
            .args(["pwd", "--ca"])
            .arg(&ca_file),
        "",
    );
    assert!(failed(&out).contains("TLS"), "{}", out.stderr);
}

#[test]
fn plaintext_works_only_when_both_sides_say_so() {
    let tls = TestServer::start_with(|c| c.login_timeout = Duration::from_secs(2));
    tls.add_user("alice", "pw");
    let config = tls.scratch("config");
    let out = run(
        client(&tls.addr.to_string(), &config).args(["pwd", "--plaintext"]),
        "",
    );
    assert!(failed(&out).contains("requires TLS"), "{}", out.stderr);

    let plain = TestServer::start_with(|c| c.transport = Transport::Plaintext);
    plain.add_user("alice", "pw");
    let out = run(
        client(&plain.addr.to_string(), &config).args(["pwd", "--accept-new-host"]),
        "",
    );
    assert!(failed(&out).contains("--plaintext"), "{}", out.stderr);
    let out = run(
        client(&plain.addr.to_string(), &config).args(["pwd", "--plaintext"]),
        "",
    );
    assert_eq!(out.ok().stdout.trim(), "~");
    // Loopback: no warning about unencrypted traffic.
    assert!(!out.stderr.contains("unencrypted"), "{}", out.stderr);
}

#[test]
fn the_site_key_from_keygen_admits_its_holders_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key_file = dir.path().join("site.key");
    run(netdisk().arg("keygen").arg(&key_file), "").ok();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file)
            .expect("key file")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    // keygen never overwrites a key by accident.
    let again = run(netdisk().arg("keygen").arg(&key_file), "");
    assert!(failed(&again).contains("--force"), "{}", again.stderr);
    let other_key = dir.path().join("other.key");
    run(netdisk().arg("keygen").arg(&other_key), "").ok();

    let key = SiteKey::parse(&std::fs::read_to_string(&key_file).expect("read")).expect("key");
    let server = TestServer::start_with(|c| c.site_key = Some(key));
    server.add_user("alice", "pw");
    let with = |key: Option<&Path>| {
        let mut cmd = netdisk_as(&server, "alice", "pw");
        cmd.arg("pwd");
        if let Some(key) = key {
            cmd.arg("--site-key-file").arg(key);
        }
        run(&mut cmd, "")
    };
    assert_eq!(with(Some(&key_file)).ok().stdout.trim(), "~");
    let missing = with(None);
    assert!(
        failed(&missing).contains("--site-key-file"),
        "{}",
        missing.stderr
    );
    let wrong = with(Some(&other_key));
    assert!(failed(&wrong).contains("site key"), "{}", wrong.stderr);

    // A key file others can read is refused rather than used.
    let mut perms = std::fs::metadata(&key_file).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o644);
    std::fs::set_permissions(&key_file, perms).expect("chmod");
    let loose = with(Some(&key_file));
    assert!(failed(&loose).contains("chmod 600"), "{}", loose.stderr);
}

#[test]
fn a_saved_login_replaces_the_password_until_it_is_changed_or_forgotten() {
    let server = TestServer::start();
    let password = "correct horse battery";
    server.add_user("alice", password);
    let config = server.scratch("config");
    let logins = config.join("netdisk/logins");
    let without_password = |args: &[&str]| {
        let mut cmd = netdisk_as(&server, "alice", "unused");
        cmd.env_remove("NETDISK_PASSWORD")
            .env("XDG_CONFIG_HOME", &config)
            .args(args);
        run(&mut cmd, "")
    };

    // No password and no saved login: refused, pointing at `netdisk login`.
    let out = without_password(&["pwd"]);
    assert!(failed(&out).contains("netdisk login"), "{}", out.stderr);

    // `netdisk login` takes the password once and saves keys, not the password.
    let out = run(
        netdisk_as(&server, "alice", password)
            .env("XDG_CONFIG_HOME", &config)
            .arg("login"),
        "",
    );
    assert!(
        out.ok().stderr.contains("saved the login"),
        "{}",
        out.stderr
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&logins).expect("logins").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let saved = std::fs::read_to_string(&logins).expect("logins");
    assert!(
        saved.starts_with(&format!("{} alice SCRAM-SHA-256 4096 ", server.addr)),
        "{saved}"
    );
    assert!(!saved.contains("horse"), "{saved}");

    // Now commands need no password, including a transfer on several sessions.
    assert_eq!(without_password(&["pwd"]).ok().stdout.trim(), "~");
    let tree = server.scratch("tree");
    for i in 0..20 {
        write_file(&tree.join(format!("f{i}")), &pattern(100 + i, i as u8));
    }
    without_password(&["put", "-r", tree.to_str().expect("utf-8"), "tree"]).ok();
    assert_eq!(
        std::fs::read_dir(server.home("alice").join("tree"))
            .expect("uploaded")
            .count(),
        20
    );

    // A changed password voids the saved login, with a hint...
    let root = server.root.to_str().expect("utf-8");
    run(
        netdisk().args([
            "user",
            "passwd",
            "alice",
            "--password-stdin",
            "--root",
            root,
        ]),
        "new password\n",
    )
    .ok();
    let out = without_password(&["pwd"]);
    let stderr = failed(&out);
    assert!(
        stderr.contains("saved by 'netdisk login'") && stderr.contains("out of date"),
        "{stderr}"
    );
    // ...while NETDISK_PASSWORD still wins over it.
    let out = run(
        netdisk_as(&server, "alice", "new password")
            .env("XDG_CONFIG_HOME", &config)
            .arg("pwd"),
        "",
    );
    assert_eq!(out.ok().stdout.trim(), "~");

    // A file others can read is refused rather than used.
    std::fs::set_permissions(&logins, std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .expect("chmod");
    let out = without_password(&["pwd"]);
    assert!(failed(&out).contains("chmod 600"), "{}", out.stderr);
    std::fs::set_permissions(&logins, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");

    // Forgotten: the line is gone, a second logout says there was none.
    without_password(&["logout"]).ok();
    assert_eq!(std::fs::read_to_string(&logins).expect("logins"), "");
    let out = without_password(&["logout"]);
    assert!(failed(&out).contains("no saved login"), "{}", out.stderr);
    let out = without_password(&["pwd"]);
    assert!(failed(&out).contains("no password"), "{}", out.stderr);
}

#[test]
fn the_config_file_is_read_flags_win_and_unknown_keys_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("data");
    std::fs::create_dir_all(&root).expect("root");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "listen = \"127.0.0.1:0\"\nmax_conections = 5\n").expect("bad");
    let out = run(
        netdisk()
            .args(["serve", "--root"])
            .arg(&root)
            .arg("--config")
            .arg(&bad),
        "",
    );
    assert!(failed(&out).contains("max_conections"), "{}", out.stderr);
    let out = run(
        netdisk()
            .args(["serve", "--root"])
            .arg(&root)
            .args(["--config", "/nonexistent/netdisk.toml"]),
        "",
    );
    assert!(
        failed(&out).contains("/nonexistent/netdisk.toml"),
        "{}",
        out.stderr
    );

    // The data directory's own file: plaintext, audit to stderr, a listen
    // address that the --listen flag overrides.
    std::fs::write(
        root.join("netdisk.toml"),
        "listen = \"127.0.0.1:1\"\nidle_timeout = \"5m\"\n[tls]\nplaintext = true\n[log]\naudit = \"stderr\"\nlevel = \"warn\"\n",
    )
    .expect("config");
    let mut child = netdisk()
        .args(["serve", "--listen", "127.0.0.1:0", "--root"])
        .arg(&root)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = [String::new(), String::new()];
    for line in &mut lines {
        std::io::BufRead::read_line(&mut stdout, line).expect("line");
    }
    let addr = lines[0]
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{lines:?}"))
        .to_owned();
    assert!(!addr.ends_with(":1"), "the flag wins over the file: {addr}");
    assert!(lines[1].contains("plaintext"), "{lines:?}");
    add_user(&root, "alice", "pw", None);
    let config = dir.path().join("config");
    let out = run(client(&addr, &config).args(["pwd", "--plaintext"]), "");
    assert_eq!(out.ok().stdout.trim(), "~");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    wait_bounded(&mut child);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert!(
        stderr.contains(r#""event":"login""#) && stderr.contains(r#""result":"ok""#),
        "audit lines on stderr: {stderr}"
    );
    assert!(!root.join("audit.log").exists());
}

/// PROTOCOL.md 4.1: over the connection cap, a TLS server completes the
/// handshake and says `busy` inside TLS, so the client can read (and
/// trust) why it was turned away.
#[test]
fn over_the_connection_cap_a_tls_client_is_told_busy_inside_tls() {
    let server = TestServer::start_with(|c| c.max_connections = 1);
    server.add_user("alice", "pw");
    // Holds the only slot: the server waits for its TLS ClientHello.
    let _holder = std::net::TcpStream::connect(server.addr).expect("connect");
    let out = run(netdisk_as(&server, "alice", "pw").arg("pwd"), "");
    let stderr = failed(&out);
    assert!(stderr.contains("connection limit"), "{stderr}");
}
