//! Secrets the stack generates.
use super::expr::{Expr, LogicalId};
use super::policy::Meta;
use crate::model::*;
use serde::Serialize;

#[derive(Serialize, Clone, Debug)]
pub struct SecretView {
    pub id: LogicalId,
    pub name: String,
    /// The config's text as written ([`Expr::text`]).
    pub description: Expr,
    pub length: u64,
    pub meta: Meta,
}

pub(super) fn secrets(sys: &System) -> Vec<SecretView> {
    let prefix = sys.prefix();
    let secrets: Vec<SecretView> = sys
        .secrets
        .iter()
        .filter(|s| !s.existing)
        .map(|s| SecretView {
            id: LogicalId::secret(&s.name),
            name: sys.naming().secret(&s.name),
            description: if s.description.is_empty() {
                Expr::lit(format!("{prefix}: generated secret `{}`", s.name))
            } else {
                Expr::text(&s.description)
            },
            length: s.length,
            meta: Meta::default().checkov(
                "CKV2_AWS_57",
                "Rotation would invalidate tokens already handed out (e.g. callback URLs in flight); rotate by redeploying with a new secret name.",
            ),
        })
        .collect();
    secrets
}
