//! `mqtts://` against mosquitto with certificates made by the test: a custom CA,
//! an untrusted server, and mutual TLS with and without a client certificate.

mod support;

use nomq::mqtt::{Client, ClientOptions, ReconnectPolicy, TlsOptions};
use nomq::{Error, Qos};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, SanType};
use std::path::Path;
use std::time::Duration;
use support::broker::{Broker, free_port};

struct Pki {
    ca: String,
    client_cert: String,
    client_key: String,
    other_ca: String,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A CA, a server certificate for localhost/127.0.0.1, a client certificate, and an unrelated CA.
fn pki(dir: &Path) -> Pki {
    let ca = ca("nomq test CA");
    let mut server = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    server.subject_alt_names.push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let server_key = KeyPair::generate().unwrap();
    let server_cert = server.signed_by(&server_key, &ca).unwrap();
    let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
    client.distinguished_name.push(rcgen::DnType::CommonName, "nomq-client");
    let client_key = KeyPair::generate().unwrap();
    let client_cert = client.signed_by(&client_key, &ca).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), server_cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), server_key.serialize_pem()).unwrap();
    Pki {
        ca: ca.pem(),
        client_cert: client_cert.pem(),
        client_key: client_key.serialize_pem(),
        other_ca: self::ca("someone else").pem(),
    }
}

fn options(port: u16, id: &str, tls: TlsOptions) -> ClientOptions {
    let mut o = ClientOptions::new("127.0.0.1", port, id);
    o.tls = Some(TlsOptions { server_name: Some("localhost".into()), ..tls });
    o.session.connect_timeout_ms = 5000;
    o.session.reconnect = ReconnectPolicy { enabled: false, ..ReconnectPolicy::default() };
    o
}

#[tokio::test]
async fn tls_custom_ca_untrusted_server_and_mutual_tls() {
    let dir = std::env::temp_dir().join(format!("nomq-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let pki = pki(&dir);
    let (tls_port, mtls_port) = (free_port(), free_port());
    let files = format!("cafile {0}/ca.pem\ncertfile {0}/server.pem\nkeyfile {0}/server.key", dir.display());
    let _broker = Broker::start_with(&format!(
        "listener {tls_port} 127.0.0.1\n{files}\nlistener {mtls_port} 127.0.0.1\n{files}\nrequire_certificate true"
    ));

    // Trusting the test CA: connect, subscribe, and a QoS 1 round trip over TLS.
    let trust = TlsOptions { ca_pem: Some(pki.ca.clone().into_bytes()), ..TlsOptions::default() };
    let client = Client::connect(options(tls_port, "tls-1", trust.clone())).await.unwrap();
    client.subscribe("tls/t", Qos::AtLeastOnce).await.unwrap();
    client.publish("tls/t", b"over TLS", Qos::AtLeastOnce, false).await.unwrap();
    let m = tokio::time::timeout(Duration::from_secs(5), client.recv()).await.unwrap().unwrap();
    assert_eq!(m.payload, b"over TLS");
    client.disconnect().await;

    // A server certificate from a CA we do not trust is refused.
    let untrusted = TlsOptions { ca_pem: Some(pki.other_ca.clone().into_bytes()), ..TlsOptions::default() };
    let r = Client::connect(options(tls_port, "tls-2", untrusted)).await;
    assert!(matches!(&r, Err(Error::Tls(e)) if e.contains("handshake")), "{r:?}");

    // Mutual TLS: refused without a client certificate, accepted with one.
    let r = Client::connect(options(mtls_port, "tls-3", trust.clone())).await;
    assert!(r.is_err(), "the broker requires a client certificate: {r:?}");
    let with_cert = TlsOptions {
        client_cert_pem: Some(pki.client_cert.clone().into_bytes()),
        client_key_pem: Some(pki.client_key.clone().into_bytes()),
        ..trust
    };
    let client = Client::connect(options(mtls_port, "tls-4", with_cert)).await.unwrap();
    client.publish("tls/m", b"mutual", Qos::ExactlyOnce, false).await.unwrap();
    client.disconnect().await;

    // Configuration errors are reported, not panicked on.
    let bad = TlsOptions { ca_pem: Some(b"not a certificate".to_vec()), ..TlsOptions::default() };
    assert!(matches!(Client::connect(options(tls_port, "tls-5", bad)).await, Err(Error::Tls(_))));
    let half = TlsOptions {
        client_cert_pem: Some(pki.client_cert.into_bytes()),
        ca_pem: Some(pki.ca.into_bytes()),
        ..TlsOptions::default()
    };
    assert!(matches!(Client::connect(options(tls_port, "tls-6", half)).await, Err(Error::Tls(_))));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn urls_select_tls_and_default_ports() {
    let o = ClientOptions::from_url("mqtts://broker.example", "c").unwrap();
    assert_eq!((o.host.as_str(), o.port, o.tls.is_some()), ("broker.example", 8883, true));
    let o = ClientOptions::from_url("mqtt://10.0.0.5:1884/", "c").unwrap();
    assert_eq!((o.host.as_str(), o.port, o.tls.is_some()), ("10.0.0.5", 1884, false));
    let o = ClientOptions::from_url("mqtt://[::1]:1883", "c").unwrap();
    assert_eq!((o.host.as_str(), o.port), ("::1", 1883));
    let o = ClientOptions::from_url("mqtts://[fe80::1]", "c").unwrap();
    assert_eq!((o.host.as_str(), o.port), ("fe80::1", 8883));
    for bad in ["http://x", "mqtt://", "mqtt://h:notaport", "broker:1883", "mqtt://[::1", "mqtt://a:1:2"] {
        let e = ClientOptions::from_url(bad, "c").err().unwrap_or_else(|| panic!("{bad} accepted"));
        // A bad URL is an argument error, not a TLS failure.
        assert!(matches!(e, Error::InvalidUrl(_)), "{bad}: {e:?}");
        assert_eq!(e.kind(), nomq::proto::ErrorKind::InvalidUrl);
    }
}
