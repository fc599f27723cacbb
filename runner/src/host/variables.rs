//! `fermyon:spin/variables`: a component reads only the variables its manifest
//! section declares, with templates already expanded at load time.

use super::variables_wit::{Error, Host};
use super::RequestState;

impl Host for RequestState {
    fn get(&mut self, name: String) -> Result<String, Error> {
        if !crate::variables::is_valid_name(&name) {
            return Err(Error::InvalidName(format!(
                "invalid variable name `{name}`"
            )));
        }
        self.grants
            .variables
            .get(&name)
            .cloned()
            .ok_or_else(|| Error::Undefined(format!("no variable `{name}` for this component")))
    }
}
