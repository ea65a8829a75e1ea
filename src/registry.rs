//! Built-in scenarios written in Rust (the second scenario tier).
//!
//! A crate that depends on cicada registers its user types under a scenario name and calls
//! [`crate::main_with`]: it gets the whole CLI (`run`, `validate`, and what later versions add)
//! with `--scenario NAME` selecting its types. See `examples/rust_user.rs`.

use std::sync::Arc;

use cicada_engine::UserType;

/// Creates the user types of a built-in scenario.
pub type UserTypesFn = dyn Fn() -> Vec<Arc<dyn UserType>> + Send + Sync;

/// One built-in scenario.
pub struct Builtin {
    /// The name given to `--scenario`.
    pub name: String,
    /// One line for `cicada validate --list`.
    pub description: String,
    /// The host used when `-H` is not given.
    pub host: Option<String>,
    make: Box<UserTypesFn>,
}

impl Builtin {
    /// A fresh set of this scenario's user types.
    pub fn user_types(&self) -> Vec<Arc<dyn UserType>> {
        (self.make)()
    }
}

/// The built-in scenarios of a binary.
#[derive(Default)]
pub struct Registry {
    builtins: Vec<Builtin>,
}

impl Registry {
    /// An empty registry (the plain `cicada` binary).
    pub fn new() -> Self {
        Registry::default()
    }

    /// Registers a scenario. A later registration with the same name replaces the earlier one.
    pub fn scenario<F>(mut self, name: &str, description: &str, make: F) -> Self
    where
        F: Fn() -> Vec<Arc<dyn UserType>> + Send + Sync + 'static,
    {
        self.builtins.retain(|b| b.name != name);
        self.builtins.push(Builtin {
            name: name.to_string(),
            description: description.to_string(),
            host: None,
            make: Box::new(make),
        });
        self
    }

    /// Sets the default host of the most recently registered scenario.
    pub fn with_host(mut self, host: &str) -> Self {
        if let Some(last) = self.builtins.last_mut() {
            last.host = Some(host.to_string());
        }
        self
    }

    /// Looks a scenario up by name.
    pub fn get(&self, name: &str) -> Option<&Builtin> {
        self.builtins.iter().find(|b| b.name == name)
    }

    /// All scenarios, in registration order.
    pub fn all(&self) -> &[Builtin] {
        &self.builtins
    }
}
