//! A real SMTP server for the mail tests: aiosmtpd (from PyPI; tests/run.sh
//! installs it) writing what it receives into a maildir.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// aiosmtpd on a free port, writing into `maildir`; returns it and its port
/// once it accepts connections.
pub fn start(maildir: &Path) -> (Killed, u16) {
    start_with(maildir, None)
}

/// [`start`], requiring STARTTLS with `tls` (certificate and key PEM files)
/// when given.
pub fn start_with(maildir: &Path, tls: Option<(&Path, &Path)>) -> (Killed, u16) {
    let port = free_port();
    let mut command = Command::new("python3");
    command
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"));
    if let Some((certificate, key)) = tls {
        command
            .arg("--tlscert")
            .arg(certificate)
            .arg("--tlskey")
            .arg(key);
    }
    let child = command
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("aiosmtpd starts (tests/run.sh installs it from PyPI)");
    let server = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the SMTP server did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, port)
}

/// The mails in `maildir` once there are at least `n`, each as its text
/// (sorted); fails after `wait`.
pub fn mails(maildir: &Path, n: usize, wait: Duration) -> Vec<String> {
    let new_dir = maildir.join("new");
    let deadline = Instant::now() + wait;
    loop {
        let found: Vec<PathBuf> = std::fs::read_dir(&new_dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        if found.len() >= n {
            let mut texts: Vec<String> = found
                .iter()
                .map(|p| std::fs::read_to_string(p).expect("mail file"))
                .collect();
            texts.sort();
            return texts;
        }
        assert!(
            Instant::now() < deadline,
            "only {} mails arrived",
            found.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
