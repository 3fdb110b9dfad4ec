//! SES identities and configuration sets.
use super::expr::LogicalId;
use crate::model::*;
use serde::Serialize;

#[derive(Serialize, Clone, Debug)]
pub struct EmailView {
    pub identity_id: LogicalId,
    pub identity: String,
    pub config_set_id: LogicalId,
    pub config_set: String,
}

pub(super) fn emails(sys: &System) -> Vec<EmailView> {
    let emails: Vec<EmailView> = sys
        .emails
        .iter()
        .map(|e| EmailView {
            identity_id: LogicalId::email_identity(&e.name),
            identity: e.identity.clone(),
            config_set_id: LogicalId::email_config_set(&e.name),
            config_set: e.configuration_set.clone(),
        })
        .collect();
    emails
}
