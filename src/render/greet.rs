//! Whom the greeting names: the client's given name when the display name is a person's, and
//! nobody when it is a role account, a company, a title alone or written in capitals ("Hola
//! RUIZ:", "Hola info:", "Hola Dr.:" read worse than a plain "Hola:").
//!
//! The rule, in order:
//!
//! 1. No name, an address, digits, or no lowercase letter at all (ALL CAPS): nobody.
//! 2. "Last, First" is turned round.
//! 3. Leading titles (Dr., Sra., Mr., Prof., Don…) are dropped; a title alone, or a title and
//!    one word (a surname: "Sra. Ruiz"), is nobody.
//! 4. Any word of a company form (S.L., S.A., Inc, Ltd, GmbH…) or of a trade or team noun
//!    (Estudio, Tienda, Agencia, Studio, Team, Equipo…), or a first word that names a role
//!    (info, marketing, ventas, sales, support…): nobody.
//! 5. One word alone is a given name only when the address starts with it (`laura@`,
//!    `laura.mendez@`): otherwise it may be a surname or a company ("Alameda").
//! 6. The first word must be written as a name (capital, then lowercase); a common first half
//!    of a Spanish compound name ("María José", "Juan Carlos") keeps its second half when a
//!    surname follows.

use crate::lang::folded as fold;

/// Titles before a name, folded, without the final dot.
const TITLES: &[&str] = &[
    "dr", "dra", "sr", "sra", "srta", "d", "dna", "don", "dona", "lic", "ing", "arq", "prof", "mr",
    "mrs", "ms", "miss", "mx", "sir", "dame",
];

/// Words of company forms and trade or team nouns, folded, without dots.
const ORGANISATION: &[&str] = &[
    "sl",
    "sa",
    "slu",
    "sll",
    "scp",
    "cb",
    "sau",
    "inc",
    "ltd",
    "llc",
    "llp",
    "plc",
    "gmbh",
    "ag",
    "corp",
    "co",
    "company",
    "compania",
    "grupo",
    "group",
    "estudio",
    "studio",
    "tienda",
    "shop",
    "agencia",
    "agency",
    "team",
    "equipo",
    "asociados",
    "associates",
    "consulting",
    "consultores",
    "servicios",
    "services",
    "solutions",
    "soluciones",
    "media",
    "marketing",
    "ventas",
    "sales",
    "support",
    "soporte",
    "club",
    "hotel",
    "restaurante",
    "restaurant",
    "academia",
    "clinica",
    "clinic",
    "ayuntamiento",
    "fundacion",
    "foundation",
    "asociacion",
    "association",
    "colegio",
    "school",
    "universidad",
    "university",
    "editorial",
    "dpto",
    "departamento",
    "department",
    "&",
];

/// First words that name a role account, folded.
const ROLES: &[&str] = &[
    "info",
    "informacion",
    "contacto",
    "contact",
    "hello",
    "hola",
    "admin",
    "administracion",
    "administration",
    "office",
    "oficina",
    "billing",
    "facturacion",
    "accounts",
    "rrhh",
    "hr",
    "comunicacion",
    "communications",
    "prensa",
    "press",
    "newsletter",
    "web",
    "webmaster",
    "pedidos",
    "orders",
    "reservas",
    "bookings",
    "atencion",
    "customer",
    "clientes",
    "recepcion",
    "reception",
    "direccion",
    "gerencia",
    "management",
    "the",
    "el",
    "la",
    "los",
    "las",
];

/// Common first halves of Spanish compound given names, folded.
const COMPOUND_HEADS: &[&str] = &[
    "maria",
    "jose",
    "juan",
    "ana",
    "luis",
    "miguel",
    "francisco",
    "jesus",
    "mari",
    "rosa",
    "pedro",
    "carlos",
    "antonio",
    "jorge",
];

/// The given name to greet, from the From display name and address, or none.
pub fn given_name(display: &str, address: &str) -> Option<String> {
    let name = display.trim().trim_matches(['"', '\'']).trim();
    if name.is_empty()
        || name.contains('@')
        || name.chars().any(|c| c.is_ascii_digit())
        || !name.chars().any(char::is_lowercase)
    {
        return None;
    }
    // "Méndez, Laura": the surname is known, so one given word is enough.
    let (name, surname_known) = match name.split_once(',') {
        Some((last, first)) if !first.trim().is_empty() && !last.trim().contains(' ') => {
            (first.trim(), true)
        }
        Some((first, _)) => (first.trim(), false),
        None => (name, false),
    };
    let key = |w: &str| fold(w.trim_end_matches('.')).replace('.', "");
    let all: Vec<&str> = name.split_whitespace().collect();
    let words: Vec<&str> = all
        .iter()
        .copied()
        .skip_while(|w| TITLES.contains(&key(w).as_str()))
        .collect();
    let first = *words.first()?;
    if words.len() == 1 && all.len() > 1 {
        // "Sra. Ruiz": a title and a surname.
        return None;
    }
    if words
        .iter()
        .any(|w| ORGANISATION.contains(&key(w).as_str()))
        || ROLES.contains(&key(first).as_str())
    {
        return None;
    }
    if !looks_like_a_name(first) {
        return None;
    }
    if words.len() == 1 && !surname_known {
        let local = address.split('@').next().unwrap_or_default();
        return fold(local)
            .starts_with(&fold(first))
            .then(|| first.to_string());
    }
    match words.get(1) {
        Some(second)
            if words.len() >= 3
                && COMPOUND_HEADS.contains(&key(first).as_str())
                && looks_like_a_name(second) =>
        {
            Some(format!("{first} {second}"))
        }
        _ => Some(first.to_string()),
    }
}

/// A capital letter, then lowercase letters (hyphens and apostrophes allowed): "Laura",
/// "Jean-Luc", "O'Neill".
fn looks_like_a_name(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(char::is_uppercase)
        && chars.clone().count() >= 1
        && chars.all(|c| c.is_alphabetic() || c == '-' || c == '\'')
        && word.chars().skip(1).filter(|c| c.is_uppercase()).count() <= 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("Laura Méndez", "laura@cliente.example", Some("Laura")),
            (
                "\"Méndez, Laura\"",
                "lmendez@cliente.example",
                Some("Laura"),
            ),
            ("Dr. Laura Méndez", "l@cliente.example", Some("Laura")),
            ("Sra. Ruiz", "ruiz@cliente.example", None),
            (
                "María José García",
                "mj@cliente.example",
                Some("María José"),
            ),
            ("María García", "mg@cliente.example", Some("María")),
            ("Jean-Luc Picard", "jl@example.com", Some("Jean-Luc")),
            ("Laura", "laura.mendez@cliente.example", Some("Laura")),
            ("laura", "laura@cliente.example", None),
            ("RUIZ", "ruiz@cliente.example", None),
            ("ANA RUIZ", "ana@cliente.example", None),
            ("Dr.", "dr@cliente.example", None),
            ("Mr. ", "x@cliente.example", None),
            ("info", "info@alameda.example", None),
            ("Info Alameda", "info@alameda.example", None),
            ("Marketing", "marketing@cliente.example", None),
            ("Marketing Team", "mkt@cliente.example", None),
            ("Alameda", "info@alameda.example", None),
            ("Tienda Sol", "hola@tienda-sol.example", None),
            ("Alameda Reformas S.L.", "info@alameda.example", None),
            ("Acme Inc.", "ops@acme.example", None),
            ("laura@cliente.example", "laura@cliente.example", None),
            ("Oficina 2", "of2@cliente.example", None),
            ("The Web Shop", "x@shop.example", None),
            ("", "laura@cliente.example", None),
        ];
        for (display, address, want) in cases {
            assert_eq!(
                given_name(display, address).as_deref(),
                *want,
                "{display} <{address}>"
            );
        }
    }
}
