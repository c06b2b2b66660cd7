//! plazo protects a freelancer's time.
//!
//! It watches the freelancer's inbox and, when a client's mail arrives outside business hours or
//! asks for something sooner than the notice window allows, answers once, politely, in the
//! client's language, with the earliest time the work can really be delivered.
//!
//! The crate reads as the pipeline it runs (design §1):
//!
//! - [`mail`]: the inbound view of one raw message (addresses, text, language).
//! - [`segment`]: which lines of the body the client wrote now (not the signature, the
//!   disclaimer, the footer or the quoted history).
//! - [`gate`]: may we answer at all? (RFC 3834: never to lists, bots, bounces, ourselves.)
//! - [`extract`]: the deadline the client demands, read from their own words.
//! - [`calendar`]: business time: hours, holidays, next opening, earliest feasible delivery.
//! - [`agenda`]: her calendars' events as busy times and away days for [`calendar`].
//! - [`policy`]: which triggers fire (`outside-hours`, `short-notice`), giving an [`policy::Assessment`].
//! - [`render`]: the reply, from templates, as the exact bytes that will be sent.
//! - [`pipeline`]: the stages above run in order over one message, with the per-sender ledger.
//!
//! Around them: [`config`] (the TOML file and its checks), [`caldav`] (her calendars
//! fetched: files, ICS links, CalDAV, with the last good copy), [`lang`] (one pack per language:
//! lexicon, morphology, mail markers, date names), [`zone`], and [`cli`]
//! (one file per subcommand). None of the decision code touches the network, the wall clock or a
//! database: the arrival instant is always an argument.

pub mod agenda;
pub mod caldav;
pub mod calendar;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod digest;
pub mod extract;
pub mod gate;
pub mod imap;
pub mod lang;
pub mod mail;
pub mod net;
pub mod oauth;
pub mod pipeline;
pub mod policy;
pub mod render;
pub mod segment;
pub mod smtp;
pub mod store;
pub mod words;
pub mod zone;
