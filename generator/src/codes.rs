//! Every diagnostic code, each for one kind of problem. The code is what users search for and
//! what docs/config.md documents (a test checks that every code here is documented there and
//! that the doc lists no other); the doc line here is the one-line meaning.

use std::fmt;

macro_rules! codes {
    ($($variant:ident = $code:literal: $meaning:literal,)*) => {
        /// A stable diagnostic code. Declared in code order, so sorting by it sorts by code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $(#[doc = $meaning] $variant,)*
        }

        impl Code {
            /// Every code, in order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// `E005`, `W001`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            /// What the code means, in one line.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Code::$variant => $meaning,)*
                }
            }
        }
    };
}

codes! {
    Yaml = "E001": "not readable YAML, or YAML features flowform refuses (anchors, tags, tabs)",
    WrongType = "E002": "a value of the wrong type or shape",
    UnknownKey = "E003": "a key flowform does not know",
    Missing = "E004": "something required is missing",
    Undefined = "E005": "a reference to something not defined",
    Duplicate = "E006": "the same thing twice: a key, a name, an entry, or two names that become one resource name",
    BadName = "E007": "a name that breaks the naming rules",
    NameTooLong = "E008": "a physical name longer than AWS allows",
    FifoMismatch = "E009": "FIFO settings that do not fit together",
    FifoBatch = "E010": "batch settings a FIFO queue trigger does not support",
    HttpTimeout = "E011": "an HTTP function that may run longer than API Gateway waits",
    OutOfRange = "E012": "a number outside its allowed range",
    SharedQueue = "E013": "a queue consumed by more than one function",
    SharedRoute = "E014": "a route served by more than one function",
    BadRoute = "E015": "a route that is not `METHOD /path`",
    BadFilter = "E016": "an SNS filter policy SNS would reject",
    Retention = "E017": "retention and retry times that would drop messages",
    BatchWindow = "E018": "a standard-queue batch over 10 without a batching window",
    UnsignedRoute = "E020": "`auth: signed` routes without a secret to verify with",
    BadEnv = "E021": "an env var flowform does not allow",
    Quota = "E023": "a stack over a CloudFormation or service quota (resources, outputs, parameters, logical-ID length, policy, environment or template size)",
    Version = "E025": "a config version this flowform does not read",
    Concurrency = "E027": "queue pollers beyond the function's reserved concurrency",
    BadSchedule = "E028": "a schedule expression EventBridge would reject",
    SecondDocument = "E029": "more than one YAML document in the file",
    NotUtf8 = "E030": "a file that is not UTF-8",
    TooLarge = "E031": "a file too large or nested too deep to read",
    NotAllowed = "E032": "a value that is not one of the accepted choices",
    BadAddress = "E033": "a URL, email address, SES identity or IAM principal ARN that is not valid where it is used",
    Conflict = "E034": "options that exclude each other",
    HandlerArchitecture = "E035": "one handler binary used with two architectures",
    Interpreted = "E036": "text CloudFormation would read as a dynamic reference or a substitution",
    TextTooLong = "E037": "a description or other text longer than the AWS field it lands in",
    Renamed = "E038": "a `renamed_from` that keeps no resource of its own: the entry's own name, a name still in the config, or one another entry keeps",
    Import = "E039": "an import the exporting config does not back: its file, its system or stage, a topic it does not export, or not to this system",
    UnreadTopic = "W001": "a topic published to that no queue reads",
    UnconsumedQueue = "W002": "a queue no function consumes",
    Unused = "W003": "a dependency declared but used by no function",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::Code;
    use std::collections::BTreeSet;

    /// docs/config.md's Diagnostics table lists exactly the codes there are.
    #[test]
    fn every_code_is_documented_and_the_doc_lists_no_other() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/config.md")).unwrap();
        let documented: BTreeSet<&str> = doc
            .lines()
            .filter_map(|l| l.strip_prefix("| "))
            .filter_map(|l| l.split(' ').next())
            .filter(|c| {
                c.len() == 4 && (c.starts_with('E') || c.starts_with('W')) && c[1..].chars().all(|d| d.is_ascii_digit())
            })
            .collect();
        let codes: BTreeSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(documented, codes, "docs/config.md's Diagnostics table and codes.rs must list the same codes");
    }

    #[test]
    fn codes_are_unique_and_in_order() {
        let strs: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        let mut sorted = strs.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(strs, sorted, "codes must be unique and declared in order (sorting relies on it)");
    }
}
