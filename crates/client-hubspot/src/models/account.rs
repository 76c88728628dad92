use serde::{Deserialize, Serialize};

use super::Extra;

/// `GET /account-info/v3/details`: the account the token belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AccountDetails {
    /// The account (portal) id.
    pub portal_id: u64,
    /// `STANDARD`, `SANDBOX`, `DEVELOPER_TEST` or `APP_DEVELOPER`.
    #[serde(default)]
    pub account_type: Option<String>,
    /// The account's time zone; HubSpot's daily limit resets at midnight in it.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// The account's currency.
    #[serde(default)]
    pub company_currency: Option<String>,
    /// Where the account's data is hosted (`na1`, `eu1`, ...).
    #[serde(default)]
    pub data_hosting_location: Option<String>,
    /// Every other field HubSpot sent.
    #[serde(flatten)]
    pub extra: Extra,
}
