//! Clients and API keys (what `keygate admin` makes), and the demo client of `--demo`.

use keygate_core::audit::{AuditEventType, NewAuditEvent, Origin};
use keygate_core::model::{Alias, ApiKey, Client};
use keygate_store::StoreError;
use uuid::Uuid;

use crate::credentials::{hash_password_blocking, new_credentials, new_password};
use crate::{Registry, RegistryError};

/// Most characters a client's name may have.
const MAX_CLIENT_NAME_CHARS: usize = 200;

/// A new API key with its credentials. The password is shown once and never stored.
#[derive(Clone)]
pub struct NewApiKey {
    /// The client it belongs to.
    pub client: Client,
    /// The stored API key (its `api_key` is the login identifier).
    pub api_key: ApiKey,
    /// The password, in clear: the only time anyone sees it.
    pub password: String,
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKey")
            .field("client", &self.client)
            .field("api_key", &self.api_key)
            .finish_non_exhaustive()
    }
}

/// The demo client's API key, as made at first start.
#[derive(Clone)]
pub enum DemoClient {
    /// Made by this start: the credentials are printed once.
    Created {
        /// The API key's id.
        api_key_id: String,
        /// The login identifier.
        api_key: String,
        /// The password.
        password: String,
    },
    /// The demo client existed already (its password was shown when it was made).
    Exists,
}

impl std::fmt::Debug for DemoClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DemoClient(..)")
    }
}

impl Registry {
    /// Make a business client. The name is trimmed (1 to 200 characters); the alias follows
    /// the alias rule and is unique.
    ///
    /// # Errors
    /// [`RegistryError::InvalidAlias`], [`RegistryError::InvalidClientName`],
    /// [`RegistryError::Conflict`] (`"client alias"`), or a store failure.
    pub async fn create_client(
        &self,
        name: &str,
        alias: &str,
        origin: &Origin,
    ) -> Result<Client, RegistryError> {
        let alias = Alias::parse(alias).map_err(RegistryError::InvalidAlias)?;
        let name = client_name(name)?;
        Ok(self
            .store
            .create_client(name, alias.as_str(), self.now(), |c| {
                vec![client_created(c, origin)]
            })
            .await?)
    }

    /// Every client, by alias.
    ///
    /// # Errors
    /// A store failure.
    pub async fn clients(&self) -> Result<Vec<Client>, RegistryError> {
        Ok(self.store.list_clients().await?)
    }

    /// The client with this alias or id.
    ///
    /// # Errors
    /// [`RegistryError::UnknownClient`], or a store failure.
    pub async fn client(&self, alias_or_id: &str) -> Result<Client, RegistryError> {
        self.store
            .find_client(alias_or_id)
            .await?
            .ok_or_else(|| RegistryError::UnknownClient(alias_or_id.to_owned()))
    }

    /// Make an API key for the client with this alias or id, with a new login identifier and
    /// password (argon2id-hashed; the clear password is returned once).
    ///
    /// # Errors
    /// [`RegistryError::InvalidAlias`], [`RegistryError::UnknownClient`],
    /// [`RegistryError::Conflict`], or a store failure.
    pub async fn create_api_key(
        &self,
        client_alias_or_id: &str,
        alias: &str,
        origin: &Origin,
    ) -> Result<NewApiKey, RegistryError> {
        let alias = Alias::parse(alias).map_err(RegistryError::InvalidAlias)?;
        let client = self.client(client_alias_or_id).await?;
        let (login, password) = new_credentials()?;
        let hash = hash_password_blocking(&password).await?;
        let api_key = self
            .store
            .create_api_key(client.id, alias.as_str(), &login, &hash, self.now(), |k| {
                vec![api_key_created(k, origin)]
            })
            .await?;
        Ok(NewApiKey {
            client,
            api_key,
            password,
        })
    }

    /// Rename the client with this alias or id (the name rule of [`Registry::create_client`]);
    /// `client.updated` holds the previous and the new name.
    ///
    /// # Errors
    /// [`RegistryError::InvalidClientName`], [`RegistryError::UnknownClient`], or a store
    /// failure.
    pub async fn rename_client(
        &self,
        alias_or_id: &str,
        name: &str,
        origin: &Origin,
    ) -> Result<Client, RegistryError> {
        let name = client_name(name)?;
        let client = self.client(alias_or_id).await?;
        let event = NewAuditEvent::new(AuditEventType::ClientUpdated, origin)
            .client(client.id)
            .detail("previous_name", client.name.as_str())
            .detail("name", name);
        if !self
            .store
            .rename_client(client.id, name, self.now(), &[event])
            .await?
        {
            return Err(RegistryError::UnknownClient(alias_or_id.to_owned()));
        }
        Ok(Client {
            name: name.to_owned(),
            ..client
        })
    }

    /// Give an API key a new password (argon2id-hashed; the clear password is returned once)
    /// and end its sessions; `api_key.updated` says what changed, never the password.
    ///
    /// # Errors
    /// [`RegistryError::UnknownApiKey`], or a store failure.
    pub async fn reset_password(
        &self,
        api_key_id: Uuid,
        origin: &Origin,
    ) -> Result<NewApiKey, RegistryError> {
        let (api_key, client) = self
            .store
            .find_api_key(api_key_id)
            .await?
            .ok_or(RegistryError::UnknownApiKey(api_key_id))?;
        let password = new_password()?;
        let hash = hash_password_blocking(&password).await?;
        let updated = |ended: u64| {
            vec![NewAuditEvent::new(AuditEventType::ApiKeyUpdated, origin)
                .api_key(client.id, api_key.id)
                .detail("changed", "password")
                .detail("sessions_ended", ended)]
        };
        self.store
            .set_api_key_password(api_key_id, &hash, self.now(), updated)
            .await?
            .ok_or(RegistryError::UnknownApiKey(api_key_id))?;
        Ok(NewApiKey {
            client,
            api_key,
            password,
        })
    }

    /// The API keys of the client with this alias or id.
    ///
    /// # Errors
    /// [`RegistryError::UnknownClient`], or a store failure.
    pub async fn api_keys(&self, client_alias_or_id: &str) -> Result<Vec<ApiKey>, RegistryError> {
        let client = self.client(client_alias_or_id).await?;
        Ok(self.store.list_api_keys(client.id).await?)
    }

    /// `--demo`: make the client `DEMO` with an API key `demo`, unless it exists (another node
    /// may be making it at the same moment: its conflict means "exists").
    ///
    /// # Errors
    /// A store failure.
    pub async fn ensure_demo_client(&self) -> Result<DemoClient, RegistryError> {
        if self.store.find_client("DEMO").await?.is_some() {
            return Ok(DemoClient::Exists);
        }
        let now = self.now();
        let origin = Origin::keygate();
        let client = match self
            .store
            .create_client("Demo client", "DEMO", now, |c| {
                vec![client_created(c, &origin)]
            })
            .await
        {
            Ok(c) => c,
            Err(StoreError::Conflict(_)) => return Ok(DemoClient::Exists),
            Err(e) => return Err(e.into()),
        };
        let (api_key, password) = new_credentials()?;
        let hash = hash_password_blocking(&password).await?;
        let key = self
            .store
            .create_api_key(client.id, "demo", &api_key, &hash, now, |k| {
                vec![api_key_created(k, &origin)]
            })
            .await?;
        Ok(DemoClient::Created {
            api_key_id: key.id.to_string(),
            api_key,
            password,
        })
    }
}

/// A client's name, trimmed: 1 to 200 characters.
fn client_name(name: &str) -> Result<&str, RegistryError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_CLIENT_NAME_CHARS {
        return Err(RegistryError::InvalidClientName);
    }
    Ok(name)
}

/// `client.created`: the name and alias (docs/design.md §11).
fn client_created(client: &Client, origin: &Origin) -> NewAuditEvent {
    NewAuditEvent::new(AuditEventType::ClientCreated, origin)
        .client(client.id)
        .detail("name", client.name.as_str())
        .detail("alias", client.alias.as_str())
}

/// `api_key.created`: the alias and the login identifier (never the password).
fn api_key_created(api_key: &ApiKey, origin: &Origin) -> NewAuditEvent {
    NewAuditEvent::new(AuditEventType::ApiKeyCreated, origin)
        .api_key(api_key.client_id, api_key.id)
        .detail("alias", api_key.alias.as_str())
        .detail("api_key", api_key.api_key.as_str())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::test_support::{ops, registry};

    #[tokio::test]
    async fn clients_and_api_keys_follow_their_rules() {
        let (registry, _hand, _, _guard) = registry().await;
        assert!(matches!(
            registry.create_client("Acme", "bad alias!", &ops()).await,
            Err(RegistryError::InvalidAlias(_))
        ));
        assert!(matches!(
            registry.create_client("  ", "acme", &ops()).await,
            Err(RegistryError::InvalidClientName)
        ));
        let acme = registry
            .create_client(" Acme ", "acme", &ops())
            .await
            .unwrap();
        assert_eq!(acme.name, "Acme");
        assert!(matches!(
            registry.create_client("Other", "acme", &ops()).await,
            Err(RegistryError::Conflict(_))
        ));
        assert!(matches!(
            registry.create_api_key("nobody", "x", &ops()).await,
            Err(RegistryError::UnknownClient(_))
        ));
        let made = registry
            .create_api_key("acme", "payments", &ops())
            .await
            .unwrap();
        assert!(crate::credentials::verify_password(
            &made.password,
            &registry
                .store()
                .find_login(&made.api_key.api_key)
                .await
                .unwrap()
                .unwrap()
                .2
        ));
        let keys = registry.api_keys(&acme.id.to_string()).await.unwrap();
        assert_eq!(keys, vec![made.api_key]);

        assert!(matches!(
            registry.ensure_demo_client().await.unwrap(),
            DemoClient::Created { .. }
        ));
        assert!(matches!(
            registry.ensure_demo_client().await.unwrap(),
            DemoClient::Exists
        ));
    }

    #[tokio::test]
    async fn a_password_reset_ends_sessions_and_only_the_new_password_logs_in() {
        let (registry, _hand, principal, (login, password), _guard) =
            crate::test_support::registry_with(crate::test_support::settings()).await;
        let home = std::net::IpAddr::from([127, 0, 0, 1]);
        let session = registry.login(&login, &password, home).await.unwrap();
        let made = registry
            .reset_password(principal.api_key.id, &ops())
            .await
            .unwrap();
        assert!(matches!(
            registry.session(&session.token).await,
            Err(RegistryError::SessionUnknown)
        ));
        assert!(matches!(
            registry.login(&login, &password, home).await,
            Err(RegistryError::InvalidCredentials)
        ));
        assert!(registry.login(&login, &made.password, home).await.is_ok());
        assert!(matches!(
            registry.reset_password(uuid::Uuid::new_v4(), &ops()).await,
            Err(RegistryError::UnknownApiKey(_))
        ));
        let renamed = registry
            .rename_client(&principal.client.id.to_string(), " Acme plc ", &ops())
            .await
            .unwrap();
        assert_eq!(renamed.name, "Acme plc");
        assert!(matches!(
            registry.rename_client("nobody", "x", &ops()).await,
            Err(RegistryError::UnknownClient(_))
        ));
    }
}
