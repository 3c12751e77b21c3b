//! Keys and certificates made the way a user makes them: with the `openssl` tool.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Runs `openssl ARGS` with `stdin`, in `dir` when given; its stdout. Fails the test when
/// openssl fails.
fn run_openssl(dir: Option<&Path>, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let mut command = Command::new("openssl");
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let mut child = command.spawn().expect("openssl is installed");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(bytes) = stdin {
        input.write_all(bytes).expect("write stdin");
    }
    drop(input);
    let out = child.wait_with_output().expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `openssl ARGS` with `stdin`; its stdout.
pub fn openssl(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    run_openssl(None, args, stdin)
}

/// `openssl genrsa BITS` → the private key PEM (PKCS#8 with OpenSSL 3).
pub fn genrsa(bits: u32) -> String {
    String::from_utf8(openssl(&["genrsa", &bits.to_string()], None)).expect("utf8")
}

/// `openssl rsa -pubout` of a private key.
pub fn pubout(private_pem: &str) -> String {
    String::from_utf8(openssl(&["rsa", "-pubout"], Some(private_pem.as_bytes()))).expect("utf8")
}

/// A fresh RSA-2048 public key PEM.
pub fn new_public_key() -> String {
    pubout(&genrsa(2048))
}

/// A throwaway PKI in a directory, made with openssl: CAs and the leaves they issue (P-256,
/// valid two days, for `localhost` and `127.0.0.1`).
#[derive(Debug)]
pub struct Pki {
    /// Where the `.pem`, `.key`, `.csr` files are written.
    pub dir: PathBuf,
}

impl Default for Pki {
    fn default() -> Self {
        Pki::new()
    }
}

impl Pki {
    /// A PKI in a new temporary directory.
    pub fn new() -> Pki {
        let dir = std::env::temp_dir().join(format!("kg-pki-{}", uuid::Uuid::new_v4().simple()));
        Pki::at(&dir)
    }

    /// A PKI writing its files in `dir` (created if missing).
    pub fn at(dir: &Path) -> Pki {
        std::fs::create_dir_all(dir).expect("create the PKI directory");
        Pki {
            dir: dir.to_path_buf(),
        }
    }

    /// `dir/name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn run(&self, args: &[&str]) {
        run_openssl(Some(&self.dir), args, None);
    }

    /// A CA: `<name>.pem`, `<name>.key`; the certificate's path.
    pub fn ca(&self, name: &str) -> PathBuf {
        self.run(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        self.path(&format!("{name}.pem"))
    }

    /// A leaf issued by the CA `ca` for localhost / 127.0.0.1 with the extended key usage
    /// `usage` (`serverAuth`, `clientAuth`): `<name>.pem`, `<name>.key`.
    pub fn leaf(&self, ca: &str, name: &str, usage: &str) -> (PathBuf, PathBuf) {
        self.run(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            &format!("/CN={name}"),
        ]);
        let ext = self.path(&format!("{name}.ext"));
        std::fs::write(
            &ext,
            format!("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage={usage}\n"),
        )
        .expect("write the extensions file");
        self.run(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            &format!("{name}.pem"),
            "-days",
            "2",
            "-extfile",
            ext.to_str().expect("a UTF-8 path"),
        ]);
        (
            self.path(&format!("{name}.pem")),
            self.path(&format!("{name}.key")),
        )
    }

    /// A CA `<name>-ca` and a server certificate `<name>` issued by it: (CA certificate,
    /// server certificate, server key).
    pub fn server(&self, name: &str) -> (PathBuf, PathBuf, PathBuf) {
        let ca = format!("{name}-ca");
        let ca_pem = self.ca(&ca);
        let (cert, key) = self.leaf(&ca, name, "serverAuth");
        (ca_pem, cert, key)
    }
}
