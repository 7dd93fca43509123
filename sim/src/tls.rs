//! TLS for the simulated API server: a certificate authority made at start, and a server
//! certificate it signs for the loopback names. `kubectl` (which will not send a token over
//! plain HTTP) and kube-rs verify the server against the CA in the kubeconfig, as they would
//! for a real cluster.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

/// The PEM documents a TLS server and its clients need.
#[derive(Clone, Debug)]
pub struct Certificates {
    /// The CA clients trust (`certificate-authority-data`).
    pub ca_pem: String,
    /// The server's certificate and private key.
    pub server_cert_pem: String,
    pub server_key_pem: String,
}

/// Makes a fresh CA and a server certificate for `localhost`, `127.0.0.1` and `::1`.
pub fn generate() -> Result<Certificates, rcgen::Error> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "paydeck-sim CA");
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let mut params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()])?;
    params.distinguished_name.push(DnType::CommonName, "paydeck-sim");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca)?;
    Ok(Certificates { ca_pem: ca.pem(), server_cert_pem: cert.pem(), server_key_pem: key.serialize_pem() })
}
