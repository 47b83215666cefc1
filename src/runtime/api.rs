//! The API server in `toc serve`, `toc demo` and `toc run`: started on a
//! thread of its own ([`crate::api::server`]) beside the engine, its
//! addresses published in the data folder
//! ([`super::published::API_FILE_NAME`]) so tests and tools find it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::api::auth::Authenticator;
use crate::api::server::{self, Addr, ApiServer, Options};
use crate::engine::EngineHandle;

/// A running API and where it published its addresses.
#[derive(Debug)]
pub struct ApiRun {
    server: ApiServer,
    published: Option<PathBuf>,
}

impl ApiRun {
    /// Starts the API of `options` on `handle`, and publishes its
    /// addresses in `data_dir` (when given).
    pub fn start(
        options: &Options,
        handle: EngineHandle,
        auth: Arc<Authenticator>,
        data_dir: Option<&Path>,
    ) -> Result<ApiRun, String> {
        let server = server::start(options, handle, auth)?;
        let mut published = None;
        if let Some(dir) = data_dir {
            let urls: Vec<String> = server.addrs().iter().map(Addr::url).collect();
            match super::published::publish_api(dir, &urls) {
                Ok(path) => {
                    tracing::info!("api addresses published in {}", path.display());
                    published = Some(dir.to_path_buf());
                }
                Err(e) => tracing::warn!("api addresses not published: {e}"),
            }
        }
        for addr in server.addrs() {
            tracing::info!("{}", listening_line(addr));
        }
        Ok(ApiRun { server, published })
    }

    /// Every address it listens on.
    pub fn addrs(&self) -> &[Addr] {
        self.server.addrs()
    }

    /// Stops it and withdraws its published addresses.
    pub fn shutdown(self) {
        if let Some(dir) = &self.published {
            super::published::withdraw_api(dir);
        }
        self.server.shutdown();
    }
}

/// The line `toc serve` prints for each address.
pub fn listening_line(addr: &Addr) -> String {
    match addr {
        Addr::Http(_) | Addr::Https(_) => {
            format!(
                "api listening on {} (commands, ws, metrics, wall)",
                addr.url()
            )
        }
        Addr::Unix(_) => format!("api listening on {} (commands, ws)", addr.url()),
    }
}
