//! Sign-in and who is asking: Argon2id passwords, server-side sessions in an
//! HttpOnly SameSite=Strict cookie (new token on every login, idle and
//! absolute expiry), a CSRF token for every state-changing request made with
//! the cookie, bearer API tokens for systems, and a login rate limit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "millrace_session";
/// The header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session unused this long ends.
pub const IDLE_EXPIRY: chrono::Duration = chrono::Duration::minutes(30);
/// A session ends this long after sign-in, used or not.
pub const ABSOLUTE_EXPIRY: chrono::Duration = chrono::Duration::hours(12);

/// What a role may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Deploys, retires, manages users; sees the audit.
    Admin,
    /// Validates and tests models, starts test instances.
    Analyst,
    /// Works tasks, starts instances.
    Staff,
    /// A system integration: sends messages and signals, starts instances.
    System,
}

impl Role {
    /// Reads a role name.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "admin" => Role::Admin,
            "analyst" => Role::Analyst,
            "staff" => Role::Staff,
            "system" => Role::System,
            _ => return None,
        })
    }
}

/// Who is asking, established for every request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Sign-in name.
    pub user: String,
    /// Role.
    pub role: Role,
    /// Groups.
    pub groups: Vec<String>,
    /// The session's CSRF token, when signed in with the session cookie
    /// (the web app's pages carry it to their scripts).
    pub csrf: Option<String>,
}

impl Role {
    /// The role's name, as stored and as the API shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Staff => "staff",
            Role::System => "system",
        }
    }
}

impl Principal {
    /// Who this is, as the API and the web app's pages show it (with the
    /// session's CSRF token when signed in with the cookie).
    pub fn me(&self) -> millrace_api::Me {
        millrace_api::Me {
            user: self.user.clone(),
            role: self.role.as_str().to_string(),
            groups: self.groups.clone(),
            csrf_token: self.csrf.clone(),
        }
    }

    /// Refuses (and audits) unless the principal has one of `roles`.
    pub async fn require(
        &self,
        state: &AppState,
        action: &str,
        roles: &[Role],
    ) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            return Ok(());
        }
        state.audit(Some(&self.user), action, None, "denied").await;
        Err(ApiError::forbidden(format!("your role may not {action}")))
    }
}

/// Random bytes as hex: session tokens, CSRF tokens, API tokens, passwords.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // Invariant: the OS random source is available on every supported platform;
    // without it no secret can be made, so failing loudly is the only safe answer.
    getrandom::fill(&mut buf).expect("the operating system's random source works");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a random token, as stored.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Argon2id hash of a password (PHC string).
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    // A fresh random salt per hash (from the OS source).
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| ApiError::field("password", format!("cannot hash: {e}")))
}

/// A hash no password was ever given for, to verify against when a user name is unknown.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_token(16)).unwrap_or_default())
}

/// Whether `password` matches the stored hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Failed sign-ins, by account and by source address, slowing guessers down
/// without ever locking anyone out: each attempt first waits a delay that
/// grows with the recent failures of its account and of its source
/// ([`LoginThrottle::delay`]); then the right password always signs in. Only
/// a source that keeps failing past [`SOURCE_REFUSE_AFTER`] is refused for a
/// while (a real user never gets there; an attacker's guesses at one account
/// from many sources are slowed by the account's delay).
#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<ThrottleKey, (u32, Instant)>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ThrottleKey {
    Account(String),
    Source(std::net::IpAddr),
}

/// Failures are forgotten this long after the last one.
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// An account's failures after which its attempts wait, and the longest wait.
const ACCOUNT_FREE: u32 = 3;
const ACCOUNT_MAX_DELAY: Duration = Duration::from_secs(5);
/// A source's failures after which its attempts wait, and the longest wait.
const SOURCE_FREE: u32 = 5;
const SOURCE_MAX_DELAY: Duration = Duration::from_secs(30);
/// The most accounts and sources the throttle remembers.
const MAX_THROTTLE_ENTRIES: usize = 100_000;
/// A source's failures after which it is refused until its window passes.
pub const SOURCE_REFUSE_AFTER: u32 = 100;

/// 250 ms doubled for every failure past `free`, at most `max`.
fn backoff(failures: u32, free: u32, max: Duration) -> Duration {
    if failures < free {
        return Duration::ZERO;
    }
    let doublings = (failures - free).min(16);
    (Duration::from_millis(250) * 2u32.pow(doublings)).min(max)
}

/// What the throttle says about one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    /// Try after waiting this long (often zero).
    After(Duration),
    /// The source is refused for this much longer.
    Refused(Duration),
}

impl LoginThrottle {
    fn count(
        map: &HashMap<ThrottleKey, (u32, Instant)>,
        key: &ThrottleKey,
        now: Instant,
    ) -> (u32, Instant) {
        map.get(key)
            .filter(|(_, last)| now.duration_since(*last) < THROTTLE_WINDOW)
            .copied()
            .unwrap_or((0, now))
    }

    /// How an attempt for `account` from `source` must wait, at `now`.
    pub fn delay(
        &self,
        account: &str,
        source: Option<std::net::IpAddr>,
        now: Instant,
    ) -> Throttled {
        let Ok(map) = self.failures.lock() else {
            return Throttled::After(Duration::ZERO);
        };
        let (a, _) = Self::count(&map, &ThrottleKey::Account(account.to_string()), now);
        let (s, last) = source
            .map(|ip| Self::count(&map, &ThrottleKey::Source(ip), now))
            .unwrap_or((0, now));
        if s >= SOURCE_REFUSE_AFTER {
            return Throttled::Refused(THROTTLE_WINDOW.saturating_sub(now.duration_since(last)));
        }
        Throttled::After(backoff(a, ACCOUNT_FREE, ACCOUNT_MAX_DELAY).max(backoff(
            s,
            SOURCE_FREE,
            SOURCE_MAX_DELAY,
        )))
    }

    /// Counts a failed attempt.
    pub fn failed(&self, account: &str, source: Option<std::net::IpAddr>, now: Instant) {
        if let Ok(mut map) = self.failures.lock() {
            // Bounded: entries past their window go when the map grows; if
            // it is full of fresh ones, new keys are not added (known ones
            // still count).
            if map.len() > MAX_THROTTLE_ENTRIES {
                map.retain(|_, (_, last)| now.duration_since(*last) < THROTTLE_WINDOW);
            }
            let full = map.len() > MAX_THROTTLE_ENTRIES;
            let keys = std::iter::once(ThrottleKey::Account(account.to_string()))
                .chain(source.map(ThrottleKey::Source));
            for key in keys {
                if full && !map.contains_key(&key) {
                    continue;
                }
                let (n, _) = Self::count(&map, &key, now);
                map.insert(key, (n + 1, now));
            }
        }
    }

    /// After a successful sign-in: forgets the account's failures, and takes
    /// back the one [`LoginThrottle::failed`] counted for this attempt on the
    /// source (its other failures stay: one success must not launder a
    /// guesser's address).
    pub fn succeeded(&self, account: &str, source: Option<std::net::IpAddr>) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&ThrottleKey::Account(account.to_string()));
            if let Some(ip) = source {
                if let Some((n, _)) = map.get_mut(&ThrottleKey::Source(ip)) {
                    *n = n.saturating_sub(1);
                }
            }
        }
    }
}

/// The value of cookie `name` in a request's headers.
pub(crate) fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let now = Utc::now();
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if let Some(token) = bearer {
            let hash = token_hash(token);
            if let Some(p) = state.tokens.get(&hash) {
                return Ok(p);
            }
            let name = state
                .store
                .api_token_user(&hash)
                .await?
                .ok_or_else(|| ApiError::unauthenticated("the API token is not valid"))?;
            let p = principal_of(state, &name).await?;
            state.tokens.put(hash, p.clone());
            Ok(p)
        } else if let Some(token) = cookie(&parts.headers, SESSION_COOKIE) {
            let hash = token_hash(&token);
            let session =
                state.store.session(&hash).await?.ok_or_else(|| {
                    ApiError::unauthenticated("the session has ended; sign in again")
                })?;
            let idle = parse_time(&session.last_seen).is_none_or(|t| now - t > IDLE_EXPIRY);
            let old = parse_time(&session.created_at).is_none_or(|t| now - t > ABSOLUTE_EXPIRY);
            if idle || old {
                state.store.delete_session(&hash).await?;
                return Err(ApiError::unauthenticated(
                    "the session has expired; sign in again",
                ));
            }
            let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
            if !safe {
                let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
                if sent != Some(session.csrf.as_str()) {
                    state
                        .audit(
                            Some(&session.user_name),
                            "csrf.check",
                            Some(parts.uri.path()),
                            "denied",
                        )
                        .await;
                    return Err(ApiError::forbidden(format!(
                        "a state-changing request made with the session cookie needs the {CSRF_HEADER} header from sign-in"
                    )));
                }
            }
            // One write a minute at most: a session's last use need not be exact.
            if parse_time(&session.last_seen)
                .is_none_or(|t| now - t > chrono::Duration::seconds(60))
            {
                state.store.touch_session(&hash, now).await?;
            }
            let mut p = principal_of(state, &session.user_name).await?;
            p.csrf = Some(session.csrf);
            Ok(p)
        } else {
            Err(ApiError::unauthenticated(
                "sign in (POST /api/login) or send an API token (Authorization: Bearer …)",
            ))
        }
    }
}

async fn principal_of(state: &AppState, user_name: &str) -> Result<Principal, ApiError> {
    let user = state
        .store
        .user(user_name)
        .await?
        .ok_or_else(|| ApiError::unauthenticated("the user no longer exists"))?;
    if user.disabled {
        return Err(ApiError::unauthenticated("the user is disabled"));
    }
    let role =
        Role::parse(&user.role).ok_or_else(|| ApiError::forbidden("the user has no valid role"))?;
    Ok(Principal {
        user: user.name,
        role,
        groups: user.groups,
        csrf: None,
    })
}

/// API tokens resolved in the last few seconds: systems call often, and a
/// token's user, role and groups change rarely. A change (or a removed
/// user) takes effect within [`TOKEN_CACHE_TTL`].
#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<String, (Principal, Instant)>>,
}

/// How long a resolved API token is trusted without asking the store again.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(10);

impl TokenCache {
    fn get(&self, hash: &str) -> Option<Principal> {
        let map = self.entries.lock().ok()?;
        map.get(hash)
            .filter(|(_, at)| at.elapsed() < TOKEN_CACHE_TTL)
            .map(|(p, _)| p.clone())
    }

    /// Forgets every resolved token: a user's role, groups or existence changed.
    pub fn clear(&self) {
        if let Ok(mut map) = self.entries.lock() {
            map.clear();
        }
    }

    fn put(&self, hash: String, p: Principal) {
        if let Ok(mut map) = self.entries.lock() {
            // Bounded: stale entries go when the map grows.
            if map.len() > 10_000 {
                map.retain(|_, (_, at)| at.elapsed() < TOKEN_CACHE_TTL);
            }
            map.insert(hash, (p, Instant::now()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse").expect("hashes");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("battery staple", &hash));
    }

    #[test]
    fn the_throttle_slows_failures_down_but_never_locks_an_account() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        let attacker: std::net::IpAddr = [10, 0, 0, 1].into();
        let user: std::net::IpAddr = [10, 0, 0, 2].into();
        assert_eq!(
            t.delay("ana", Some(attacker), now),
            Throttled::After(Duration::ZERO)
        );
        for _ in 0..50 {
            t.failed("ana", Some(attacker), now);
        }
        // The account's own delay is capped: the real user, from elsewhere, waits at most that.
        assert_eq!(
            t.delay("ana", Some(user), now),
            Throttled::After(ACCOUNT_MAX_DELAY)
        );
        assert_eq!(
            t.delay("bob", Some(user), now),
            Throttled::After(Duration::ZERO)
        );
        // The guessing source waits longer, and past the bar is refused.
        assert_eq!(
            t.delay("bob", Some(attacker), now),
            Throttled::After(SOURCE_MAX_DELAY)
        );
        for _ in 0..50 {
            t.failed("carl", Some(attacker), now);
        }
        assert!(matches!(
            t.delay("bob", Some(attacker), now),
            Throttled::Refused(_)
        ));
        // Everything is forgotten after the window.
        let later = now + THROTTLE_WINDOW + Duration::from_secs(1);
        assert_eq!(
            t.delay("ana", Some(attacker), later),
            Throttled::After(Duration::ZERO)
        );
        t.succeeded("ana", Some(user));
        assert_eq!(
            t.delay("ana", Some(user), now),
            Throttled::After(Duration::ZERO)
        );
    }

    #[test]
    fn tokens_are_random_and_hashed_deterministically() {
        let a = random_token(32);
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_token(32));
        assert_eq!(token_hash(&a), token_hash(&a));
    }
}
