//! Deterministic seed data: the same seed always gives the same contacts, companies, deals and
//! subscribers. Generation is a single pass with a SplitMix64 PRNG (about a millisecond per
//! thousand contacts).

use std::collections::BTreeMap;

use serde_json::json;

use crate::config::SandboxConfig;
use crate::hubspot::store::{CrmStore, CustomDef, ObjectType, Props, Record};
use crate::manychat::store::{
    BotField, CustomField, FieldType, Flow, ManyChatStore, Subscriber, Tag,
};
use crate::util::{Rng, iso_ms};

const FIRST: &[&str] = &[
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Oliver",
    "Sophia",
    "Elijah",
    "Isabella",
    "James",
    "Mia",
    "William",
    "Amelia",
    "Benjamin",
    "Harper",
    "Lucas",
    "Evelyn",
    "Henry",
    "Abigail",
    "Theodore",
    "Emily",
    "Jack",
    "Ella",
    "Levi",
    "Luna",
    "Mateo",
    "Sofia",
    "Ethan",
    "Camila",
    "Daniel",
    "Aria",
    "Michael",
    "Scarlett",
    "Sebastian",
    "Layla",
    "Owen",
    "Chloe",
    "Samuel",
    "Nora",
    "Leo",
    "Zoe",
    "Asher",
    "Lily",
    "Wyatt",
    "Hazel",
    "Carlos",
    "Yuki",
    "Amara",
    "Ines",
    "Jonas",
];
const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "mail.example",
    "acme.test",
    "globex.test",
    "initech.test",
    "umbrella.test",
    "hooli.test",
    "piedpiper.test",
    "stark.test",
    "wayne.test",
];
const STAGES: &[(&str, u64)] = &[
    ("subscriber", 30),
    ("lead", 30),
    ("marketingqualifiedlead", 12),
    ("salesqualifiedlead", 8),
    ("opportunity", 8),
    ("customer", 10),
    ("evangelist", 1),
    ("other", 1),
];
/// Valid `lifecyclestage` values.
pub(crate) const LIFECYCLE_STAGES: &[&str] = &[
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
];
const CITIES: &[(&str, &str)] = &[
    ("Boston", "United States"),
    ("Austin", "United States"),
    ("Denver", "United States"),
    ("Toronto", "Canada"),
    ("London", "United Kingdom"),
    ("Berlin", "Germany"),
    ("Madrid", "Spain"),
    ("Dublin", "Ireland"),
];
const JOBS: &[&str] = &[
    "Marketing Manager",
    "Founder",
    "Sales Director",
    "Engineer",
    "Designer",
    "Operations Lead",
    "Student",
];
const INDUSTRIES: &[&str] = &[
    "COMPUTER_SOFTWARE",
    "RETAIL",
    "FOOD_BEVERAGES",
    "MARKETING_AND_ADVERTISING",
];
const DEAL_STAGES: &[&str] = &[
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
];
/// Flow namespaces of the seeded page.
pub(crate) const FLOWS: &[(&str, &str)] = &[
    ("content20180221085508_278589", "Welcome"),
    ("content20230115120000_100001", "Order update"),
    ("content20230115120000_100002", "Re-engagement"),
];

const YEAR_MS: i64 = 365 * 86_400_000;

fn weighted(rng: &mut Rng, items: &[(&'static str, u64)]) -> &'static str {
    let total: u64 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.below(total);
    for (v, w) in items {
        if x < *w {
            return v;
        }
        x -= w;
    }
    items[0].0
}

fn props(pairs: &[(&str, String)]) -> Props {
    let mut p = Props::default();
    for (k, v) in pairs {
        if !v.is_empty() {
            p.insert(k, v.clone());
        }
    }
    p
}

/// Generates the CRM and the ManyChat page for a config.
pub(crate) fn generate(config: &SandboxConfig) -> (CrmStore, ManyChatStore) {
    let mut rng = Rng::new(config.seed);
    let now = config.epoch_ms;
    let mut crm = CrmStore::default();
    let mut mc = ManyChatStore {
        next_subscriber_id: 1_000_000_000 + rng.below(1_000_000) * 1000,
        ..ManyChatStore::default()
    };
    seed_page(&mut mc);

    // contacts, with ids that grow with small random gaps (like a real portal)
    let mut id = 51 + rng.below(100);
    for i in 0..config.contacts {
        id += 1 + rng.below(3);
        let first = *rng.pick(FIRST);
        let last = *rng.pick(LAST);
        let email = format!(
            "{}.{}{}@{}",
            first.to_ascii_lowercase(),
            last.to_ascii_lowercase(),
            i,
            rng.pick(DOMAINS)
        );
        let phone = if rng.chance(0.8) {
            format!("+1555{:07}", rng.below(10_000_000))
        } else {
            String::new()
        };
        let created = now - 3 * YEAR_MS + rng.below(3 * YEAR_MS as u64) as i64;
        let updated = created + rng.below((now - created).max(1) as u64) as i64;
        let (city, country) = *rng.pick(CITIES);
        let stage = weighted(&mut rng, STAGES);
        let job = if rng.chance(0.6) {
            (*rng.pick(JOBS)).to_owned()
        } else {
            String::new()
        };
        let rec = Record {
            id,
            props: props(&[
                ("email", email.clone()),
                ("firstname", first.to_owned()),
                ("lastname", last.to_owned()),
                ("phone", phone.clone()),
                ("lifecyclestage", stage.to_owned()),
                ("city", city.to_owned()),
                ("country", country.to_owned()),
                ("jobtitle", job),
                ("createdate", iso_ms(created)),
                ("lastmodifieddate", iso_ms(updated)),
                ("hs_object_id", id.to_string()),
            ]),
            created_ms: created,
            updated_ms: updated,
            archived_at: None,
            history: Vec::new(),
        };
        crm.contacts.insert(ObjectType::Contacts, rec);

        if rng.chance(config.subscriber_share) {
            // a share of subscribers only gave their phone, a few only their email
            let (s_email, s_phone) = match rng.below(10) {
                0 if !phone.is_empty() => (None, Some(phone)),
                1 => (Some(email), None),
                _ => (Some(email), (!phone.is_empty()).then_some(phone)),
            };
            let stale = rng.chance(config.stale_subscriber_share);
            let sid = mc.next_subscriber_id + rng.below(50);
            let subscribed = created + rng.below(30 * 86_400_000) as i64;
            let last_interaction = if stale {
                now - 2 * 86_400_000 - rng.below(30 * 86_400_000) as i64
            } else {
                now - rng.below(12 * 3_600_000) as i64
            };
            let mut sub = Subscriber {
                id: sid,
                first_name: first.to_owned(),
                last_name: last.to_owned(),
                gender: if rng.chance(0.5) { "female" } else { "male" }.to_owned(),
                optin_email: s_email.is_some(),
                optin_phone: s_phone.is_some(),
                email: s_email,
                phone: s_phone,
                locale: if country == "Spain" { "es_ES" } else { "en_US" }.to_owned(),
                timezone: "UTC+00".to_owned(),
                subscribed_ms: subscribed.min(now),
                last_interaction_ms: Some(last_interaction),
                tags: Vec::new(),
                fields: BTreeMap::new(),
            };
            sub.fields.insert(1, json!(id.to_string()));
            sub.fields.insert(2, json!(stage));
            if rng.chance(0.3) {
                sub.tags.push(1);
            }
            if stage == "customer" {
                sub.tags.push(2);
            }
            mc.insert(sub);
        }
    }

    // a few subscribers that are not in HubSpot at all
    for _ in 0..(config.contacts / 50) {
        let sid = mc.next_subscriber_id + rng.below(50);
        let first = *rng.pick(FIRST);
        let last = *rng.pick(LAST);
        mc.insert(Subscriber {
            id: sid,
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            gender: "female".to_owned(),
            email: None,
            phone: Some(format!("+1666{:07}", rng.below(10_000_000))),
            optin_email: false,
            optin_phone: true,
            locale: "en_US".to_owned(),
            timezone: "UTC+00".to_owned(),
            subscribed_ms: now - rng.below(YEAR_MS as u64) as i64,
            last_interaction_ms: Some(now - rng.below(3_600_000) as i64),
            tags: Vec::new(),
            fields: BTreeMap::new(),
        });
    }

    let mut cid = 1001 + rng.below(1000);
    for i in 0..config.companies {
        cid += 1 + rng.below(5);
        let created = now - 2 * YEAR_MS + rng.below(2 * YEAR_MS as u64) as i64;
        let (city, country) = *rng.pick(CITIES);
        let word = *rng.pick(LAST);
        let rec = Record {
            id: cid,
            props: props(&[
                ("name", format!("{word} & Co {i}")),
                ("domain", format!("{}{i}.test", word.to_ascii_lowercase())),
                ("industry", (*rng.pick(INDUSTRIES)).to_owned()),
                ("city", city.to_owned()),
                ("country", country.to_owned()),
                ("numberofemployees", (5 + rng.below(5000)).to_string()),
                ("createdate", iso_ms(created)),
                ("hs_lastmodifieddate", iso_ms(created)),
                ("hs_object_id", cid.to_string()),
            ]),
            created_ms: created,
            updated_ms: created,
            archived_at: None,
            history: Vec::new(),
        };
        crm.companies.insert(ObjectType::Companies, rec);
    }

    let mut did = 2001 + rng.below(1000);
    for i in 0..config.deals {
        did += 1 + rng.below(5);
        let created = now - YEAR_MS + rng.below(YEAR_MS as u64) as i64;
        let close = created + rng.below(90 * 86_400_000) as i64;
        let rec = Record {
            id: did,
            props: props(&[
                ("dealname", format!("Deal {i}: {} order", rng.pick(LAST))),
                ("amount", (100 * (1 + rng.below(500))).to_string()),
                ("dealstage", (*rng.pick(DEAL_STAGES)).to_owned()),
                ("pipeline", "default".to_owned()),
                ("closedate", iso_ms(close)),
                ("createdate", iso_ms(created)),
                ("hs_lastmodifieddate", iso_ms(created)),
                ("hs_object_id", did.to_string()),
            ]),
            created_ms: created,
            updated_ms: created,
            archived_at: None,
            history: Vec::new(),
        };
        crm.deals.insert(ObjectType::Deals, rec);
    }
    seed_user_refs(&mut mc);
    seed_associations(&mut crm, config.seed);
    for c in &config.hubspot.custom_objects {
        seed_custom(
            &mut crm,
            config,
            CustomDef::intern(c, config.hubspot.portal_id),
        );
    }
    (crm, mc)
}

/// Records of a custom type, from their own random stream: the primary property is
/// `"<name> <n>"`, numeric-looking property names (`age`, `amount`, `count`, `quantity`) get
/// numbers, names ending in `email` get addresses, the rest a word from [`WORDS`].
fn seed_custom(crm: &mut CrmStore, config: &SandboxConfig, def: &'static CustomDef) {
    let ty = ObjectType::Custom(def);
    let mut rng = Rng::new(
        config.seed
            ^ def
                .type_id
                .bytes()
                .fold(0xC057_0B1E_u64, |h, b| h.rotate_left(5) ^ u64::from(b)),
    );
    let now = config.epoch_ms;
    let mut id = 30_001 + rng.below(1000);
    for i in 0..def.records {
        id += 1 + rng.below(4);
        let created = now - YEAR_MS + rng.below(YEAR_MS as u64) as i64;
        let mut p = Props::default();
        for k in def.known.iter().filter(|k| !k.starts_with("hs_")) {
            let v = if *k == def.primary {
                format!("{} {i}", def.name)
            } else if ["age", "amount", "count", "quantity"].contains(k) {
                (1 + rng.below(20)).to_string()
            } else if k.ends_with("email") {
                format!("owner{i}@example.test")
            } else {
                (*rng.pick(WORDS)).to_owned()
            };
            p.insert(k, v);
        }
        p.insert("hs_createdate", iso_ms(created));
        p.insert("hs_lastmodifieddate", iso_ms(created));
        p.insert("hs_object_id", id.to_string());
        crm.of_mut(ty).insert(
            ty,
            Record {
                id,
                props: p,
                created_ms: created,
                updated_ms: created,
                archived_at: None,
                history: Vec::new(),
            },
        );
    }
}

/// Associations from their own random stream (so the records do not change): nine in ten
/// contacts work at a company; every deal has a contact and that contact's company (or a
/// random one).
fn seed_associations(crm: &mut CrmStore, seed: u64) {
    let mut rng = Rng::new(seed ^ 0xA550_C1A7_1045);
    let contacts: Vec<u64> = crm.contacts.records.keys().copied().collect();
    let companies: Vec<u64> = crm.companies.records.keys().copied().collect();
    let deals: Vec<u64> = crm.deals.records.keys().copied().collect();
    let mut company_of = std::collections::HashMap::new();
    if !companies.is_empty() {
        for c in &contacts {
            if rng.chance(0.9) {
                let co = *rng.pick(&companies);
                company_of.insert(*c, co);
                crm.link((ObjectType::Contacts, *c), (ObjectType::Companies, co));
            }
        }
    }
    for d in deals {
        if !contacts.is_empty() {
            let c = *rng.pick(&contacts);
            crm.link((ObjectType::Deals, d), (ObjectType::Contacts, c));
            if let Some(co) = company_of.get(&c) {
                crm.link((ObjectType::Deals, d), (ObjectType::Companies, *co));
                continue;
            }
        }
        if !companies.is_empty() {
            let co = *rng.pick(&companies);
            crm.link((ObjectType::Deals, d), (ObjectType::Companies, co));
        }
    }
}

/// Values for custom-object properties that are neither primary, numeric nor e-mail.
const WORDS: &[&str] = &[
    "dog", "cat", "rabbit", "parrot", "hamster", "turtle", "red", "blue", "green", "gold",
];

/// First `user_ref` handed out; subscriber `id` gets `USER_REF_BASE + id`.
pub(crate) const USER_REF_BASE: u64 = 2_000_000_000_000;
/// `user_ref`s registered (checkbox plugin) but not linked to a subscriber.
pub(crate) const UNLINKED_USER_REFS: [u64; 3] =
    [1_999_999_999_001, 1_999_999_999_002, 1_999_999_999_003];

/// Every fourth subscriber (in id order) has a linked `user_ref`; a few refs are registered
/// but unlinked. Uses no random numbers, so the rest of the data does not change.
fn seed_user_refs(mc: &mut ManyChatStore) {
    let ids: Vec<u64> = mc.subscribers.keys().copied().step_by(4).collect();
    for id in ids {
        let r = USER_REF_BASE + id;
        mc.user_refs.insert(r, Some(id));
        mc.ref_of.insert(id, r);
    }
    for r in UNLINKED_USER_REFS {
        mc.user_refs.insert(r, None);
    }
}

fn seed_page(mc: &mut ManyChatStore) {
    for (id, name) in [
        (1, "newsletter"),
        (2, "customer"),
        (3, "vip"),
        (4, "lead"),
        (5, "hubspot-sync"),
    ] {
        mc.tags.push(Tag {
            id,
            name: name.to_owned(),
        });
    }
    mc.next_tag_id = 6;
    for (id, name, ty, d) in [
        (
            1,
            "hubspot_contact_id",
            FieldType::Text,
            "HubSpot contact id",
        ),
        (
            2,
            "lifecycle_stage",
            FieldType::Text,
            "HubSpot lifecycle stage",
        ),
        (3, "score", FieldType::Number, "Lead score"),
        (4, "last_order", FieldType::Date, "Date of the last order"),
        (5, "vip", FieldType::Boolean, "VIP customer"),
        (6, "next_call", FieldType::DateTime, "Next scheduled call"),
    ] {
        mc.fields.push(CustomField {
            id,
            name: name.to_owned(),
            ty,
            description: d.to_owned(),
        });
    }
    for (id, name, ty, d, value) in [
        (
            1,
            "store_open",
            FieldType::Boolean,
            "Whether the shop is open",
            json!(true),
        ),
        (
            2,
            "promo_code",
            FieldType::Text,
            "Current promo code",
            json!("WELCOME10"),
        ),
        (
            3,
            "opening_hour",
            FieldType::Number,
            "Hour the shop opens",
            json!(8),
        ),
    ] {
        mc.bot_fields.push(BotField {
            id,
            name: name.to_owned(),
            ty,
            description: d.to_owned(),
            value,
        });
    }
    for (i, (ns, name)) in FLOWS.iter().enumerate() {
        mc.flows.push(Flow {
            ns: (*ns).to_owned(),
            name: (*name).to_owned(),
            folder_id: 1 + (i as u64 % 2),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(c: &SandboxConfig) -> Vec<(u64, Option<String>, Option<String>)> {
        let (crm, _) = generate(c);
        crm.contacts
            .records
            .values()
            .map(|r| {
                (
                    r.id,
                    r.props.get("email").cloned(),
                    r.props.get("phone").cloned(),
                )
            })
            .collect()
    }

    #[test]
    fn same_seed_same_data() {
        let c = SandboxConfig::small();
        assert_eq!(summary(&c), summary(&c));
        assert_ne!(summary(&c), summary(&c.clone().with_seed(7)));
    }

    #[test]
    fn subscribers_match_a_share_of_contacts() {
        let c = SandboxConfig::default().with_contacts(2_000);
        let (crm, mc) = generate(&c);
        assert_eq!(crm.contacts.records.len(), 2_000);
        let joined = crm
            .contacts
            .records
            .values()
            .filter(|r| {
                r.props
                    .get("email")
                    .is_some_and(|e| mc.by_email.contains_key(&e.to_ascii_lowercase()))
                    || r.props.get("phone").is_some_and(|p| {
                        mc.by_phone
                            .contains_key(&crate::manychat::store::norm_phone(p))
                    })
            })
            .count();
        // 70 % by default, within sampling noise
        assert!((1_300..=1_500).contains(&joined), "{joined}");
        assert_eq!(
            mc.subscribers.len(),
            mc.subscribers
                .keys()
                .collect::<std::collections::HashSet<_>>()
                .len()
        );
        assert!(
            crm.contacts
                .records
                .values()
                .all(|r| r.props.get("hs_object_id") == Some(&r.id.to_string()))
        );
    }
}
