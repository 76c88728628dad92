use std::ops::Deref;

use super::objects::{GetOptions, Objects};
use crate::error::HubSpotError;
use crate::models::{CrmObject, ObjectInput};

/// The contacts API: every [`Objects`] operation (through `Deref`) plus lookups by email.
#[derive(Debug, Clone)]
pub struct Contacts {
    objects: Objects,
}

impl Contacts {
    pub(crate) fn new(objects: Objects) -> Self {
        Self { objects }
    }

    /// The generic objects API for contacts.
    pub fn objects(&self) -> &Objects {
        &self.objects
    }

    /// Reads the contact with this email (`idProperty=email`). Cacheable.
    ///
    /// # Errors
    ///
    /// A 404 ([`HubSpotError::is_not_found`]) when no contact has the email; any error of the
    /// stack.
    pub async fn get_by_email(
        &self,
        email: &str,
        options: &GetOptions,
    ) -> Result<CrmObject, HubSpotError> {
        self.objects.get_with(email, options, Some("email")).await
    }

    /// Updates the contact with this email.
    ///
    /// # Errors
    ///
    /// As [`Objects::update`].
    pub async fn update_by_email(
        &self,
        email: &str,
        input: &ObjectInput,
    ) -> Result<CrmObject, HubSpotError> {
        self.objects.update_by("email", email, input).await
    }
}

impl Deref for Contacts {
    type Target = Objects;

    fn deref(&self) -> &Objects {
        &self.objects
    }
}
