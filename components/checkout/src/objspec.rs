//! The models of this area's routes, attribute by attribute, as seeds 000 and 001
//! describe them. `GET objspec/{model}` answers these tables, and the handlers render
//! access records from [`SECRET_ACCESS`] (which attributes exist, which are hidden), so
//! the description and the answers cannot drift apart.

use serde::Serialize;

/// An attribute's wire type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Type {
    String,
    Number,
    Boolean,
    Datetime,
}

#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Attribute {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub kind: Type,
    pub required: bool,
    pub read_only: bool,
    /// Left out of answers unless the `fields` query parameter names it.
    pub hidden: bool,
    /// Costs a lookup beyond the record itself (the seed's "expensive to use").
    pub expensive: bool,
    /// Set by the server, never taken from a request body (the seed's "Protected").
    pub protected: bool,
    pub description: &'static str,
}

#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Model {
    pub name: &'static str,
    pub attributes: &'static [Attribute],
}

impl Model {
    pub fn attribute(&self, name: &str) -> Option<&'static Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

/// How an attribute is marked: read-only, hidden, expensive (each as the seed says).
#[derive(Clone, Copy)]
struct Marks {
    required: bool,
    read_only: bool,
    hidden: bool,
    expensive: bool,
}

const fn attr(
    name: &'static str,
    kind: Type,
    marks: Marks,
    description: &'static str,
) -> Attribute {
    Attribute {
        name,
        kind,
        required: marks.required,
        read_only: marks.read_only,
        hidden: marks.hidden,
        expensive: marks.expensive,
        protected: false,
        description,
    }
}

/// Read-only.
const RO: Marks = Marks {
    required: false,
    read_only: true,
    hidden: false,
    expensive: false,
};
/// Required, read-only.
const REQ: Marks = Marks {
    required: true,
    ..RO
};
/// Read-only, expensive.
const EXP: Marks = Marks {
    expensive: true,
    ..RO
};
/// Required, read-only, expensive.
const REQ_EXP: Marks = Marks {
    required: true,
    expensive: true,
    ..RO
};
/// Read-only, hidden, expensive.
const HID: Marks = Marks {
    hidden: true,
    expensive: true,
    ..RO
};

use Type::{Boolean, Datetime, Number, String};

/// `SecretAccessModel` (seed 000).
#[rustfmt::skip]
pub static SECRET_ACCESS: Model = Model {
    name: "secret_access",
    attributes: &[
        attr("id", String, RO, "Unique secret access identifier."),
        attr("user_id", String, REQ, "User identifier."),
        attr("secret_id", String, REQ, "Secret identifier."),
        attr("secret_name", String, HID, "Secret name."),
        attr("secret_removed", Boolean, EXP, "Indicates whether the secret has been removed."),
        attr("secret_history_id", String, REQ, "Secret value version identifier."),
        attr("collection_id", String, REQ_EXP, "Collection identifier."),
        attr("collection_name", String, HID, "Collection name."),
        attr("collection_removed", Boolean, EXP, "Indicates whether the collection has been removed."),
        attr("source_ip", String, RO, "Client IP address at checkout time."),
        attr("source_port", Number, RO, "Client port at checkout time."),
        attr("accessed_at", Datetime, REQ, "When the checkout started."),
        attr("checked_in_at", Datetime, RO, "When user checked in."),
        attr("expires_at", Datetime, RO, "When access was set to expire. Uses secret checkout_time_limit attribute."),
        attr("exclusive", Boolean, REQ, "Whether this was an exclusive checkout that locks the secret. Uses secret checkout_exclusive attribute."),
        attr("forced", Boolean, REQ, "Whether user forced checkout while another user had exclusive access."),
        attr("user_name", String, EXP, "User name."),
        attr("active", Boolean, REQ_EXP, "Whether the checkout is still active and can be checkin."),
        attr("marked_safe", Boolean, EXP, "Whether the this access was marked as safe."),
        attr("marked_safe_by", String, RO, "User ID who marked this access as safe."),
        attr("marked_safe_by_name", String, EXP, "Name of the user who marked this access as safe."),
        attr("marked_safe_at", Datetime, RO, "Timestamp when access was marked as safe."),
        attr("user_blocked", Boolean, EXP, "Indicates whether the user who accessed the secret is blocked."),
        attr("user_removed", Boolean, EXP, "Indicates whether the user who accessed the secret is removed."),
        attr("user_lost_access", Boolean, EXP, "Indicates whether the user who accessed the secret has lost access to the collection."),
        attr("secret_exposed", Boolean, HID, "Boolean sum of user_blocked, user_removed and user_lost_access fields."),
        attr("created_at", Datetime, RO, "Timestamp of creation."),
        attr("modified_at", Datetime, RO, "Timestamp of modification."),
        attr("removed", Boolean, RO, ""),
    ],
};

/// The secret id of a checkout or checkin body: required by the model, protected (the
/// path names the secret; a body may repeat it).
const SECRET_ID: Attribute = Attribute {
    name: "secret_id",
    kind: String,
    required: true,
    read_only: false,
    hidden: false,
    expensive: false,
    protected: true,
    description: "Secret identifier.",
};

/// A writable attribute of a request body.
const fn field(
    name: &'static str,
    kind: Type,
    required: bool,
    description: &'static str,
) -> Attribute {
    Attribute {
        name,
        kind,
        required,
        read_only: false,
        hidden: false,
        expensive: false,
        protected: false,
        description,
    }
}

const REASON: Attribute = field(
    "reason",
    String,
    false,
    "Reason to checkout secret. Required when login_reason is set in the safe.",
);

/// `SecretCheckoutModel` (seed 001), with the `reason` seed 002 asks for where the
/// safe requires one.
pub static SECRET_CHECKOUT: Model = Model {
    name: "secret_checkout",
    attributes: &[SECRET_ID, REASON],
};

/// `SecretCheckinModel` (seed 001).
pub static SECRET_CHECKIN: Model = Model {
    name: "secret_checkin",
    attributes: &[SECRET_ID],
};

/// `CheckoutModel` (seed 002).
#[rustfmt::skip]
pub static CHECKOUT: Model = Model {
    name: "checkout",
    attributes: &[
        field("account_id", String, true, "Account of which secret is retrieved."),
        field("session_id", String, false, "When checkout session is ongoing, it can be reused."),
        REASON,
        field("force", Boolean, false, "Overrides exclusive checkout limit if configured. Default true."),
    ],
};

/// `CheckinModel` (seed 002).
pub static CHECKIN: Model = Model {
    name: "checkin",
    attributes: &[field(
        "session_id",
        String,
        true,
        "Checkout session ID to stop.",
    )],
};

static MODELS: &[&Model] = &[
    &SECRET_ACCESS,
    &SECRET_CHECKOUT,
    &SECRET_CHECKIN,
    &CHECKOUT,
    &CHECKIN,
];

/// The model `name` describes, for `GET objspec/{name}`.
pub fn model(name: &str) -> Option<&'static Model> {
    MODELS.iter().copied().find(|m| m.name == name)
}

impl Model {
    /// Checks a request body (property names lowercased) against the model, the rules
    /// the handlers take their bodies by: an object; only the model's attributes, none
    /// read-only; each of its type or `null`; the required ones present, except a
    /// protected one (the path gives it). 400 naming the attribute otherwise.
    pub fn check(&self, body: &serde_json::Value) -> edgesafe_api_common::Result<()> {
        use edgesafe_api_common::ApiError;
        let object = body
            .as_object()
            .ok_or_else(|| ApiError::bad_request("body", "must be a JSON object"))?;
        for (name, value) in object {
            let attribute = self
                .attribute(name)
                .filter(|a| !a.read_only)
                .ok_or_else(|| {
                    ApiError::bad_request(name, &format!("not an attribute of {}", self.name))
                })?;
            let fits = match attribute.kind {
                _ if value.is_null() => true,
                String | Datetime => value.is_string(),
                Number => value.is_number(),
                Boolean => value.is_boolean(),
            };
            if !fits {
                return Err(ApiError::bad_request(name, "has the wrong type"));
            }
        }
        for a in self
            .attributes
            .iter()
            .filter(|a| a.required && !a.protected)
        {
            if object.get(a.name).is_none_or(serde_json::Value::is_null) {
                return Err(ApiError::bad_request(a.name, "required"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_are_found_by_name() {
        assert_eq!(model("secret_access").map(|m| m.attributes.len()), Some(29));
        assert_eq!(
            model("secret_checkout").map(|m| m.name),
            Some("secret_checkout")
        );
        assert_eq!(
            model("secret_checkin").map(|m| m.name),
            Some("secret_checkin")
        );
        assert_eq!(model("checkout").map(|m| m.attributes.len()), Some(4));
        assert_eq!(model("checkin").map(|m| m.name), Some("checkin"));
        assert!(model("nope").is_none());
    }

    #[test]
    fn attribute_names_are_unique() {
        for m in MODELS {
            let mut names: Vec<&str> = m.attributes.iter().map(|a| a.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), m.attributes.len(), "{}", m.name);
        }
    }

    #[test]
    fn bodies_are_checked_against_their_model() {
        use serde_json::json;
        let status = |m: &Model, v: serde_json::Value| m.check(&v).map_err(|e| e.status().as_u16());
        assert_eq!(
            status(&CHECKOUT, json!({"account_id": "a", "force": false})),
            Ok(())
        );
        assert_eq!(
            status(&CHECKOUT, json!({"account_id": "a", "reason": null})),
            Ok(())
        );
        assert_eq!(
            status(&CHECKOUT, json!({"force": true})),
            Err(400),
            "required"
        );
        assert_eq!(
            status(&CHECKOUT, json!({"account_id": 5})),
            Err(400),
            "type"
        );
        assert_eq!(
            status(&CHECKOUT, json!({"account_id": "a", "x": 1})),
            Err(400)
        );
        assert_eq!(status(&CHECKOUT, json!(["a"])), Err(400));
        assert_eq!(status(&SECRET_CHECKOUT, json!({})), Ok(()), "protected");
        assert_eq!(status(&CHECKIN, json!({})), Err(400));
        assert_eq!(
            status(&SECRET_ACCESS, json!({"id": "1"})),
            Err(400),
            "read-only"
        );
    }

    #[test]
    fn hidden_attributes_are_the_seeds() {
        let hidden: Vec<&str> = SECRET_ACCESS
            .attributes
            .iter()
            .filter(|a| a.hidden)
            .map(|a| a.name)
            .collect();
        assert_eq!(hidden, ["secret_name", "collection_name", "secret_exposed"]);
    }
}
