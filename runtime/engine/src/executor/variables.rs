//! Variables and scripts: the scope chain, running and evaluating scripts in it, mappings, where a write goes.

use super::*;

impl Exec<'_> {
    /// The scope chain from `s` outwards.
    pub(super) fn chain_of(&self, mut s: ScopeId) -> Vec<ScopeId> {
        let mut chain = vec![s];
        while let Some(p) = self.inst.scopes.get(&s).and_then(|sc| sc.parent) {
            chain.push(p);
            s = p;
        }
        chain
    }

    /// The innermost scope a token's scripts see.
    pub(super) fn token_scope(&self, t: TokenId) -> ScopeId {
        self.inst
            .tokens
            .get(&t)
            .map(|tok| tok.local_scope.unwrap_or(tok.scope))
            .unwrap_or(ROOT_SCOPE)
    }

    pub(super) fn lookup<'s>(&'s self, chain: &[ScopeId], name: &str) -> Option<&'s Value> {
        chain
            .iter()
            .find_map(|s| self.inst.scopes.get(s)?.variables.get(name))
    }

    pub(super) fn run_in(&self, s: ScopeId, code: &Code) -> Result<ScriptOutcome, String> {
        let chain = self.chain_of(s);
        let scopes: Vec<&Variables> = chain
            .iter()
            .rev()
            .filter_map(|s| self.inst.scopes.get(s).map(|sc| &sc.variables))
            .collect();
        let out = code
            .compiled
            .run(&scopes, self.now)
            .map_err(|e| e.to_string())?;
        // The value it returns may be stored too (a result variable, an
        // output mapping): it is bounded like a variable.
        if matches!(out.value, Value::List(_) | Value::Map(_) | Value::String(_)) {
            crate::value::check_variables([(&"(its result)".to_string(), &out.value)])
                .map_err(|e| format!("the script's {e}"))?;
        }
        if out.writes.is_empty() {
            return Ok(out);
        }
        // What a script may write is bounded like what a request may bring:
        // past a limit, an incident naming it, and nothing written.
        let written = crate::value::check_variables(out.writes.iter().map(|(k, v)| (k, v)))
            .map_err(|e| format!("the script's write to variable {e}"))?;
        let held = self.inst.variable_weight();
        if held + written > crate::value::MAX_INSTANCE_BYTES {
            return Err(format!(
                "the script's writes would make the instance's variables weigh {} bytes; an instance holds at most {} MiB",
                held + written,
                crate::value::MAX_INSTANCE_BYTES / (1024 * 1024)
            ));
        }
        Ok(out)
    }

    pub(super) fn eval_in(&self, s: ScopeId, code: &Code) -> Result<Value, String> {
        self.run_in(s, code).map(|o| o.value)
    }

    pub(super) fn eval(&self, t: TokenId, code: &Code) -> Result<Value, String> {
        self.eval_in(self.token_scope(t), code)
    }

    /// Runs a script for token `t`; on success its writes are applied.
    pub(super) fn run_script(&mut self, t: TokenId, code: &Code) -> Result<Value, String> {
        let s = self.token_scope(t);
        let out = self.run_in(s, code)?;
        for (name, value) in out.writes {
            self.set_var(s, &name, value);
        }
        Ok(out.value)
    }

    pub(super) fn mapping(&mut self, t: TokenId, value: &MappingValue) -> Result<Value, String> {
        self.mapping_with(self.token_scope(t), &Variables::new(), value)
    }

    /// A mapping evaluated in scope `s` with `extra` in view as the innermost
    /// variables (a connector's response).
    pub(super) fn mapping_with(
        &self,
        s: ScopeId,
        extra: &Variables,
        value: &MappingValue,
    ) -> Result<Value, String> {
        Ok(match value {
            MappingValue::Constant(v) => v.clone(),
            MappingValue::Script(code) => {
                let chain = self.chain_of(s);
                let mut scopes: Vec<&Variables> = chain
                    .iter()
                    .rev()
                    .filter_map(|s| self.inst.scopes.get(s).map(|sc| &sc.variables))
                    .collect();
                scopes.push(extra);
                let out = code
                    .compiled
                    .run(&scopes, self.now)
                    .map_err(|e| e.to_string())?;
                crate::value::check_variables([(&"(its result)".to_string(), &out.value)])
                    .map_err(|e| format!("the script's {e}"))?;
                out.value
            }
            MappingValue::List(items) => Value::List(
                items
                    .iter()
                    .map(|i| self.mapping_with(s, extra, i))
                    .collect::<Result<_, _>>()?,
            ),
            MappingValue::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|(k, i)| Ok((k.clone(), self.mapping_with(s, extra, i)?)))
                    .collect::<Result<_, String>>()?,
            ),
        })
    }

    /// Sets a variable where it lives in `from`'s chain; a new one goes to the
    /// process instance (local variables are made only by input mappings and
    /// multi-instance, through `set_local`), as in Camunda.
    pub(super) fn set_var(&mut self, from: ScopeId, name: &str, value: Value) {
        let chain = self.chain_of(from);
        let target = chain
            .iter()
            .copied()
            .find(|s| {
                self.inst
                    .scopes
                    .get(s)
                    .is_some_and(|sc| sc.variables.contains_key(name))
            })
            .unwrap_or(ROOT_SCOPE);
        self.set_local(target, name, value);
    }

    pub(super) fn set_local(&mut self, s: ScopeId, name: &str, value: Value) {
        if let Some(scope) = self.inst.scopes.get_mut(&s) {
            if scope.variables.get(name) == Some(&value) {
                return;
            }
            self.effects.push(Effect::variable_set(name, &value));
            scope.variables.insert(name.to_string(), value);
            self.vars_changed = true;
        }
    }
}
