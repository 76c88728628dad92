//! The control handle: script faults, reset limits, and look at the data and deliveries.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::faults::{Chaos, Fault, FaultId, FaultRule, Route};
use crate::hubspot::store::ObjectType;
use crate::log::RequestLog;
use crate::manychat::store::{Delivery, norm_phone};
use crate::state::Shared;

/// Cheap-to-clone handle that scripts a running sandbox. It stays usable after the sandbox is
/// dropped (it then only sees the last state).
#[derive(Clone)]
pub struct Control {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Control {
    // the data set is large: show the shape, not the records
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("seed", &self.shared.config.seed)
            .field("contacts", &self.shared.config.contacts)
            .field("active_faults", &self.shared.faults.lock().active())
            .field("logged", &self.shared.log.len())
            .finish_non_exhaustive()
    }
}

impl Control {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    // ===== faults =====

    /// The next `n` requests matching `route` get `fault`.
    pub fn fail_next(&self, route: Route, n: u32, fault: Fault) -> FaultId {
        self.add_rule(FaultRule {
            route,
            fault,
            remaining: Some(n),
            until: None,
        })
    }

    /// Every request matching `route` gets `fault` for `duration` from now (`tokio::time`;
    /// not scaled).
    pub fn fail_for(&self, route: Route, duration: Duration, fault: Fault) -> FaultId {
        self.add_rule(FaultRule {
            route,
            fault,
            remaining: None,
            // a duration too large for the clock means "until removed"
            until: Instant::now().checked_add(duration),
        })
    }

    /// An outage: every request matching `route` answers 503 (in the API's error shape) for
    /// `duration`.
    pub fn outage(&self, route: Route, duration: Duration) -> FaultId {
        self.fail_for(route, duration, Fault::status(503))
    }

    /// Every request matching `route` gets `fault` until the rule is removed.
    pub fn fail_always(&self, route: Route, fault: Fault) -> FaultId {
        self.add_rule(FaultRule {
            route,
            fault,
            remaining: None,
            until: None,
        })
    }

    /// Adds a rule. Rules are checked in the order they were added; the first match wins.
    pub fn add_rule(&self, rule: FaultRule) -> FaultId {
        self.shared.faults.lock().add(rule)
    }

    /// Removes a rule; false if it was already gone.
    pub fn remove_fault(&self, id: FaultId) -> bool {
        self.shared.faults.lock().remove(id)
    }

    /// Removes every rule and stops chaos.
    pub fn clear_faults(&self) {
        self.shared.faults.lock().clear();
    }

    /// Number of rules still active (used-up and expired rules are dropped as requests arrive).
    pub fn active_faults(&self) -> usize {
        self.shared.faults.lock().active()
    }

    /// Starts (or with `None`, stops) seeded random faults; scripted rules take precedence.
    pub fn set_chaos(&self, chaos: Option<Chaos>) {
        self.shared.faults.lock().set_chaos(chaos);
    }

    /// Forgets every rate-limit window (burst, search, daily, ManyChat).
    pub fn reset_rate_limits(&self) {
        self.shared.limits.lock().reset();
    }

    // ===== identity =====

    /// The first configured HubSpot token.
    pub fn hubspot_token(&self) -> String {
        self.shared
            .config
            .hubspot
            .tokens
            .first()
            .map(|t| t.token.clone())
            .unwrap_or_default()
    }

    /// The ManyChat token, `<page_id>:<api_key>`.
    pub fn manychat_token(&self) -> String {
        self.shared.config.manychat.token()
    }

    /// The request log (same as [`crate::Sandbox::log`]).
    pub fn log(&self) -> &RequestLog {
        &self.shared.log
    }

    // ===== HubSpot data =====

    /// A contact as `SimplePublicObject` JSON with every stored property (archived ones too).
    pub fn contact(&self, id: u64) -> Option<Value> {
        let crm = self.shared.crm.lock();
        crm.contacts.records.get(&id).map(|r| r.to_json(None))
    }

    /// A live contact by email (case-insensitive).
    pub fn contact_by_email(&self, email: &str) -> Option<Value> {
        let crm = self.shared.crm.lock();
        crm.contacts
            .find(email, true, false)
            .map(|r| r.to_json(None))
    }

    /// Ids of the live (not archived) contacts, ascending.
    pub fn contact_ids(&self) -> Vec<u64> {
        live_ids(&self.shared, ObjectType::Contacts)
    }

    /// Ids of the live companies, ascending.
    pub fn company_ids(&self) -> Vec<u64> {
        live_ids(&self.shared, ObjectType::Companies)
    }

    /// Ids of the live deals, ascending.
    pub fn deal_ids(&self) -> Vec<u64> {
        live_ids(&self.shared, ObjectType::Deals)
    }

    // ===== ManyChat data =====

    /// A subscriber as ManyChat's `Subscriber` JSON.
    pub fn subscriber(&self, id: u64) -> Option<Value> {
        let mc = self.shared.mc.lock();
        mc.subscribers
            .get(&id)
            .map(|s| mc.subscriber_json(s, self.shared.config.manychat.page_id))
    }

    /// The subscriber id with this email (case-insensitive).
    pub fn subscriber_id_by_email(&self, email: &str) -> Option<u64> {
        self.shared
            .mc
            .lock()
            .by_email
            .get(&email.to_ascii_lowercase())
            .copied()
    }

    /// The subscriber id with this phone (digits compared).
    pub fn subscriber_id_by_phone(&self, phone: &str) -> Option<u64> {
        self.shared
            .mc
            .lock()
            .by_phone
            .get(&norm_phone(phone))
            .copied()
    }

    /// The subscriber matching a contact by email, else by phone (the join a HubSpot →
    /// ManyChat workflow makes).
    pub fn subscriber_for_contact(&self, contact_id: u64) -> Option<u64> {
        let (email, phone) = {
            let crm = self.shared.crm.lock();
            let rec = crm.contacts.records.get(&contact_id)?;
            (
                rec.props.get("email").cloned(),
                rec.props.get("phone").cloned(),
            )
        };
        email
            .and_then(|e| self.subscriber_id_by_email(&e))
            .or_else(|| phone.and_then(|p| self.subscriber_id_by_phone(&p)))
    }

    /// Ids of every subscriber, ascending.
    pub fn subscriber_ids(&self) -> Vec<u64> {
        self.shared.mc.lock().subscribers.keys().copied().collect()
    }

    /// The `user_ref` (checkbox plugin id) linked to a subscriber, if it has one (every fourth
    /// seeded subscriber does).
    pub fn user_ref_of(&self, subscriber_id: u64) -> Option<u64> {
        self.shared.mc.lock().ref_of.get(&subscriber_id).copied()
    }

    /// `user_ref`s that are registered but not linked to a subscriber (`getInfoByUserRef`
    /// answers code 2012 for them; `sendContentByUserRef` accepts them).
    pub fn unlinked_user_refs(&self) -> Vec<u64> {
        let mc = self.shared.mc.lock();
        mc.user_refs
            .iter()
            .filter(|(_, s)| s.is_none())
            .map(|(r, _)| *r)
            .collect()
    }

    /// `sendContentByUserRef` deliveries to unlinked `user_ref`s, in order: `(user_ref, data)`
    /// (deliveries to linked refs are ordinary [`Delivery`] values of the subscriber).
    pub fn user_ref_deliveries(&self) -> Vec<(u64, Value)> {
        self.shared.mc.lock().user_ref_deliveries.clone()
    }

    /// Ids of the live records of any served object type, by name, fully qualified name or
    /// object type id (`"contacts"`, `"0-3"`, `"pets"`, `"2-1000001"`); `None` for a type the
    /// sandbox does not serve.
    pub fn object_ids(&self, object_type: &str) -> Option<Vec<u64>> {
        let ty = ObjectType::resolve(object_type, &self.shared.custom_types)?;
        Some(live_ids(&self.shared, ty))
    }

    /// Every accepted `sendContent`/`sendContentByUserRef`/`sendFlow`, in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.mc.lock().deliveries.clone()
    }

    /// Deliveries to one subscriber, in order.
    pub fn deliveries_to(&self, subscriber_id: u64) -> Vec<Delivery> {
        self.shared
            .mc
            .lock()
            .deliveries
            .iter()
            .filter(|d| d.subscriber_id == subscriber_id)
            .cloned()
            .collect()
    }
}

fn live_ids(shared: &Shared, ty: ObjectType) -> Vec<u64> {
    shared
        .crm
        .lock()
        .of(ty)
        .records
        .values()
        .filter(|r| r.archived_at.is_none())
        .map(|r| r.id)
        .collect()
}
