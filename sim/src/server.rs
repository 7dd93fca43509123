//! The simulated cluster served over HTTPS (a CA of its own, made at start), until the
//! returned [`RunningServer`] is dropped; and kubeconfigs for clients of it.

use std::{net::SocketAddr, path::Path};

use crate::{auth, cluster::Cluster, tls};

impl Cluster {
    /// Serves the Kubernetes API over HTTPS on `addr` (with a CA made for the purpose) until
    /// the returned server is dropped.
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<RunningServer> {
        let certificates = tls::generate().map_err(std::io::Error::other)?;
        self.serve_with(addr, certificates).await
    }

    /// Serves with given certificates: what an API server restarting on the same address
    /// does, so clients that trust its CA reconnect.
    pub async fn serve_with(
        &self,
        addr: SocketAddr,
        certificates: tls::Certificates,
    ) -> std::io::Result<RunningServer> {
        let config = axum_server::tls_rustls::RustlsConfig::from_pem(
            certificates.server_cert_pem.clone().into_bytes(),
            certificates.server_key_pem.clone().into_bytes(),
        )
        .await?;
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let app = crate::api::router(self.clone());
        let handle = axum_server::Handle::new();
        let server = axum_server::from_tcp_rustls(listener, config)?.handle(handle.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = server.serve(app.into_make_service()).await {
                tracing::error!("simulated API server stopped: {e}");
            }
        });
        let ticker = (!self.lock().clock.is_manual()).then(|| self.spawn_ticker());
        Ok(RunningServer { addr, ca_pem: certificates.ca_pem.clone(), certificates, handle, task, ticker })
    }
}

/// A simulated API server listening on a loopback port.
pub struct RunningServer {
    pub addr: SocketAddr,
    /// The CA that signed the server's certificate.
    pub ca_pem: String,
    pub certificates: tls::Certificates,
    handle: axum_server::Handle<SocketAddr>,
    task: tokio::task::JoinHandle<()>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl RunningServer {
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// A kubeconfig for this server with the given token (the admin's for `kubectl`).
    pub fn kubeconfig(&self, token: &str) -> String {
        kubeconfig(&self.url(), &self.ca_pem, token)
    }

    /// Writes the admin kubeconfig to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, self.kubeconfig(auth::ADMIN_TOKEN))
    }
}

impl Drop for RunningServer {
    /// Stops listening and cuts every open connection (watches included), like a crash.
    fn drop(&mut self) {
        self.handle.shutdown();
        self.task.abort();
        if let Some(t) = &self.ticker {
            t.abort();
        }
    }
}

/// A kubeconfig document (YAML) for `server`, trusting `ca_pem`, with a bearer `token`.
pub fn kubeconfig(server: &str, ca_pem: &str, token: &str) -> String {
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: paydeck-sim\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\n\
         contexts:\n- name: paydeck-sim\n  context:\n    cluster: paydeck-sim\n    user: paydeck-sim\n\
         current-context: paydeck-sim\nusers:\n- name: paydeck-sim\n  user:\n    token: {token}\n"
    )
}
