//! Fuzzes the BPMN reader: any bytes, no panic, and whatever imports exports
//! to something that imports again to the same model.
#![no_main]

use libfuzzer_sys::fuzz_target;
use millrace_model::Model;

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = Model::import(data) {
        let out = model.export();
        let again = Model::import(out.as_bytes()).expect("an export always imports");
        assert_eq!(model.definitions, again.definitions);
    }
});
