//! A synthetic Games of any size: the text of a valid `venues.toml` with a
//! chosen number of venues and devices, for `toc demo`, load tests and
//! rehearsals at full scale.
//!
//! Venues come from the Paris 2024 list (the 35 competition venues of the
//! shipped `venues.toml`, then support sites: village, broadcast and press
//! centres, data centres, airports, training sites), in that order; larger
//! venues get more devices. Each venue has the shape of the shipped file:
//!
//! | devices | role | probe | redundancy / parent |
//! |---|---|---|---|
//! | `rtr-a`, `rtr-b` | uplink routers | SNMP | group `<C>-uplink`, `min_up` 1 |
//! | `fw-a`, `fw-b` | firewalls | SNMP | group `<C>-fw`; parents: the routers |
//! | `core-a`, `core-b` | core switches | SNMP | group `<C>-core`; parents: the routers |
//! | `acc-NN` | access switches | SNMP | parents: the cores |
//! | `ovr-a`, `ovr-b` | results servers (support sites: `srv-a`, `srv-b`) | HTTP | group `<C>-ovr`, feed `<C>-results`; parents: the cores |
//! | `timing`, `scb`, `tvg` | timing link, scoreboard, TV graphics | TCP, TCP, HTTP | competition venues only; parents: the cores |
//! | `cis`, `wlc`, `ups-1` | CIS server, wifi controller, UPS | HTTP, SNMP, SNMP | parents: the cores |
//! | extras | photo-finish, touchpads, tracking, video wall… | TCP | parents: the cores |
//!
//! Devices beyond that shape are spread over the venues by size and fill
//! each venue in the proportions of a real one: for every ten, one access
//! switch, five wifi access points, one printer, two CIS terminals and a
//! PDU (access points, printers and terminals hang off an access switch).
//!
//! When there are too few devices for the full shape of every venue, each
//! venue is cut down the same way, most important device first: first
//! every venue gets its router A, then its core switch A, its primary
//! results server, its timing link, router B, core switch B, the backup
//! results server (and with it the feed), the firewalls, the CIS server,
//! the scoreboard, access switch 01, the wifi controller, TV graphics, the
//! UPS and the extras. Larger venues get each step first. So every venue
//! has at least its uplink router, groups and feeds appear only with
//! members, and parents are always the layer above that is present.
//!
//! Addresses, all on 127.0.0.1, for the venue with 0-based index `i`: SNMP
//! agent `30000+i` (devices told apart by context = device id), HTTP health
//! `30100+i` at `/health/<device-id>`, timing `30200+i`, scoreboard
//! `30300+i`, other TCP devices `30400+n` counting through the file. None
//! collides with the shipped file (20000 to 24xxx), nor with the ports the
//! system hands out (32768 and up); ephemeral mode remaps them anyway.

use std::cmp::Reverse;
use std::fmt::Write as _;

/// The most venues [`games`] makes (the sites it knows).
pub const MAX_VENUES: usize = 60;
/// The most devices [`games`] makes.
pub const MAX_DEVICES: usize = 100_000;

/// Port of the SNMP agent of venue 0.
pub const SNMP_BASE: u16 = 30_000;
/// Port of the HTTP health server of venue 0.
pub const HTTP_BASE: u16 = 30_100;
/// Port of the timing link of venue 0.
pub const TIMING_BASE: u16 = 30_200;
/// Port of the scoreboard of venue 0.
pub const SCOREBOARD_BASE: u16 = 30_300;
/// Port of the first other TCP device.
pub const OTHER_TCP_BASE: u16 = 30_400;

const HOST: &str = "127.0.0.1";
const PROFILE: &str = "venue-v2c";

/// A TCP device some venues have: (id suffix, role, description).
type Extra = (&'static str, &'static str, &'static str);

const PHOTO_FINISH: Extra = ("pfc", "photo-finish", "photo-finish camera server");
const TOUCHPADS: Extra = (
    "tpd",
    "touchpad-gateway",
    "swimming touchpad / start system gateway",
);
const TRACKING: Extra = (
    "trk",
    "tracking-gateway",
    "GPS athlete / boat tracking gateway",
);
const TARGETS: Extra = (
    "tgt",
    "target-scoring",
    "electronic scoring targets controller",
);
const JUDGING: Extra = ("jdg", "judging-system", "judges' scoring system gateway");
const VIDEO_WALL: Extra = ("vwc", "video-wall", "video wall controller");
const ACCESS_CONTROL: Extra = ("acs", "access-control", "access control gateway");
const CONTRIBUTION: Extra = ("bcg", "broadcast-gateway", "broadcast contribution gateway");

/// A site of the Games.
#[derive(Debug)]
struct Site {
    code: &'static str,
    name: &'static str,
    city: &'static str,
    sports: &'static [&'static str],
    /// Relative size: devices beyond the base shape go by weight.
    weight: u32,
    /// Competition venues have results, timing, scoreboard and TV
    /// graphics; support sites have venue servers instead.
    competition: bool,
    extras: &'static [Extra],
}

const fn venue(
    code: &'static str,
    name: &'static str,
    city: &'static str,
    sports: &'static [&'static str],
    weight: u32,
    extras: &'static [Extra],
) -> Site {
    Site {
        code,
        name,
        city,
        sports,
        weight,
        competition: true,
        extras,
    }
}

const fn support(
    code: &'static str,
    name: &'static str,
    city: &'static str,
    weight: u32,
    extras: &'static [Extra],
) -> Site {
    Site {
        code,
        name,
        city,
        sports: &[],
        weight,
        competition: false,
        extras,
    }
}

#[rustfmt::skip]
const SITES: [Site; MAX_VENUES] = [
    venue("STA", "Stade de France", "Saint-Denis", &["Athletics", "Rugby sevens"], 16, &[PHOTO_FINISH]),
    venue("PDP", "Parc des Princes", "Paris", &["Football"], 10, &[]),
    venue("RGA", "Roland-Garros Stadium", "Paris", &["Tennis", "Boxing"], 12, &[]),
    venue("BCY", "Bercy Arena", "Paris", &["Artistic gymnastics", "Trampoline", "Basketball"], 10, &[JUDGING]),
    venue("LDA", "Paris La Défense Arena", "Nanterre", &["Swimming", "Water polo"], 12, &[TOUCHPADS]),
    venue("GPL", "Grand Palais", "Paris", &["Fencing", "Taekwondo"], 8, &[]),
    venue("CDM", "Champ-de-Mars Arena", "Paris", &["Judo", "Wrestling"], 7, &[]),
    venue("ETS", "Eiffel Tower Stadium", "Paris", &["Beach volleyball"], 5, &[]),
    venue("PAL", "Pont Alexandre III", "Paris", &["Marathon swimming", "Triathlon"], 3, &[TRACKING]),
    venue("INV", "Invalides", "Paris", &["Archery", "Athletics (marathon finish)"], 5, &[]),
    venue("TRO", "Trocadéro", "Paris", &["Athletics (race walk)", "Cycling road"], 3, &[PHOTO_FINISH]),
    venue("CON", "La Concorde", "Paris", &["3x3 basketball", "Breaking", "BMX freestyle", "Skateboarding"], 6, &[JUDGING]),
    venue("PCA", "Porte de La Chapelle Arena", "Paris", &["Badminton", "Rhythmic gymnastics"], 7, &[]),
    venue("SPA", "South Paris Arena", "Paris", &["Handball", "Table tennis", "Volleyball", "Weightlifting"], 14, &[]),
    venue("NPA", "North Paris Arena", "Villepinte", &["Boxing", "Modern pentathlon"], 8, &[]),
    venue("YDM", "Yves-du-Manoir Stadium", "Colombes", &["Hockey"], 5, &[]),
    venue("AQC", "Paris Aquatics Centre", "Saint-Denis", &["Artistic swimming", "Diving", "Water polo"], 9, &[TOUCHPADS]),
    venue("LBC", "Le Bourget Sport Climbing Venue", "Le Bourget", &["Sport climbing"], 3, &[]),
    venue("VSM", "Vaires-sur-Marne Nautical Stadium", "Vaires-sur-Marne", &["Rowing", "Canoe sprint", "Canoe slalom"], 6, &[PHOTO_FINISH]),
    venue("SQV", "Saint-Quentin-en-Yvelines Velodrome", "Montigny-le-Bretonneux", &["Cycling track"], 6, &[PHOTO_FINISH]),
    venue("SQB", "Saint-Quentin-en-Yvelines BMX Stadium", "Montigny-le-Bretonneux", &["BMX racing"], 3, &[PHOTO_FINISH]),
    venue("ELA", "Élancourt Hill", "Élancourt", &["Mountain bike"], 2, &[TRACKING]),
    venue("VER", "Château de Versailles", "Versailles", &["Equestrian", "Modern pentathlon"], 6, &[JUDGING]),
    venue("GOL", "Le Golf National", "Guyancourt", &["Golf"], 4, &[TRACKING]),
    venue("BOR", "Bordeaux Stadium", "Bordeaux", &["Football"], 8, &[]),
    venue("GGU", "Geoffroy-Guichard Stadium", "Saint-Étienne", &["Football"], 7, &[]),
    venue("LYO", "Lyon Stadium", "Décines-Charpieu", &["Football"], 10, &[]),
    venue("MAR", "Marseille Stadium", "Marseille", &["Football"], 11, &[]),
    venue("MRN", "Marseille Marina", "Marseille", &["Sailing"], 3, &[TRACKING]),
    venue("NAN", "La Beaujoire Stadium", "Nantes", &["Football"], 7, &[]),
    venue("NIC", "Nice Stadium", "Nice", &["Football"], 7, &[]),
    venue("LIL", "Pierre Mauroy Stadium", "Villeneuve-d'Ascq", &["Basketball", "Handball"], 10, &[]),
    venue("TEA", "Teahupo'o", "Teahupo'o, Tahiti (French Polynesia)", &["Surfing"], 2, &[JUDGING]),
    venue("CHA", "Châteauroux Shooting Centre", "Déols", &["Shooting"], 5, &[TARGETS]),
    venue("HDV", "Hôtel de Ville", "Paris", &["Athletics (marathon start)"], 2, &[]),
    support("OLV", "Olympic and Paralympic Village", "Saint-Denis", 14, &[ACCESS_CONTROL, VIDEO_WALL]),
    support("IBC", "International Broadcast Centre", "Le Bourget", 15, &[CONTRIBUTION, VIDEO_WALL]),
    support("MPC", "Main Press Centre (Palais des Congrès)", "Paris", 10, &[VIDEO_WALL]),
    support("MOC", "Main Operations Centre", "Saint-Denis", 8, &[VIDEO_WALL]),
    support("PDC", "Primary Data Centre", "Aubervilliers", 6, &[]),
    support("SDC", "Secondary Data Centre", "Nanterre", 4, &[]),
    support("MVD", "Media Village", "Dugny", 6, &[ACCESS_CONTROL]),
    support("UAC", "Uniform Distribution and Accreditation Centre", "Pantin", 4, &[ACCESS_CONTROL]),
    support("OFH", "Olympic Family Hotel", "Paris", 3, &[]),
    support("CDG", "Paris-Charles de Gaulle Airport welcome centre", "Roissy-en-France", 3, &[]),
    support("ORY", "Paris-Orly Airport welcome centre", "Orly", 2, &[]),
    support("CLF", "Club France (Parc de la Villette)", "Paris", 4, &[VIDEO_WALL]),
    support("CHP", "Champions Park (Trocadéro gardens)", "Paris", 3, &[VIDEO_WALL]),
    support("OPC", "Opening Ceremony (Seine)", "Paris", 5, &[CONTRIBUTION]),
    support("INS", "INSEP training centre", "Paris", 4, &[]),
    support("MOV", "Marseille sailing village", "Marseille", 2, &[ACCESS_CONTROL]),
    support("ARA", "Tahiti athletes' village (Aranui 5)", "Teahupo'o, Tahiti (French Polynesia)", 1, &[]),
    support("CHY", "Charléty Stadium (training)", "Paris", 3, &[]),
    support("SPC", "Stade Pierre de Coubertin (training)", "Paris", 3, &[]),
    support("GVA", "Georges-Vallerey Swimming Pool (training)", "Paris", 2, &[]),
    support("JAV", "Jacques Anquetil Velodrome (training)", "Vincennes", 2, &[]),
    support("TRC", "Transport Coordination Centre", "Paris", 3, &[]),
    support("SOC", "Security Operations Centre", "Paris", 3, &[VIDEO_WALL]),
    support("SDL", "Saint-Denis live site", "Saint-Denis", 2, &[VIDEO_WALL]),
    support("LOG", "Logistics Centre (Garonor)", "Aulnay-sous-Bois", 3, &[ACCESS_CONTROL]),
];

/// One device of a venue's base shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Router(char),
    Firewall(char),
    Core(char),
    Access,
    Server(char),
    Timing,
    Cis,
    Scoreboard,
    TvGraphics,
    Wifi,
    Extra(usize),
    Ups,
}

impl Slot {
    /// Which devices survive when a venue gets fewer devices than its
    /// shape: lowest first.
    fn rank(self) -> usize {
        match self {
            Slot::Router('a') => 1,
            Slot::Core('a') => 2,
            Slot::Server('a') => 3,
            Slot::Timing => 4,
            Slot::Router(_) => 5,
            Slot::Core(_) => 6,
            Slot::Server(_) => 7,
            Slot::Firewall('a') => 8,
            Slot::Firewall(_) => 9,
            Slot::Cis => 10,
            Slot::Scoreboard => 11,
            Slot::Access => 12,
            Slot::Wifi => 13,
            Slot::TvGraphics => 14,
            Slot::Ups => 15,
            Slot::Extra(n) => 16 + n,
        }
    }
}

/// The base shape of a site, in file order.
fn shape(site: &Site) -> Vec<Slot> {
    let mut v = vec![
        Slot::Router('a'),
        Slot::Router('b'),
        Slot::Firewall('a'),
        Slot::Firewall('b'),
        Slot::Core('a'),
        Slot::Core('b'),
        Slot::Access,
        Slot::Server('a'),
        Slot::Server('b'),
    ];
    if site.competition {
        v.push(Slot::Timing);
    }
    v.push(Slot::Cis);
    if site.competition {
        v.extend([Slot::Scoreboard, Slot::TvGraphics]);
    }
    v.push(Slot::Wifi);
    v.extend((0..site.extras.len()).map(Slot::Extra));
    v.push(Slot::Ups);
    v
}

/// Devices beyond the base shape, in the proportions of a real venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fill {
    Access,
    AccessPoint,
    Printer,
    Terminal,
    Pdu,
}

const FILL: [Fill; 10] = [
    Fill::Access,
    Fill::AccessPoint,
    Fill::AccessPoint,
    Fill::Printer,
    Fill::AccessPoint,
    Fill::Terminal,
    Fill::AccessPoint,
    Fill::Pdu,
    Fill::AccessPoint,
    Fill::Terminal,
];

const ACCESS_ZONES: [&str; 12] = [
    "field of play",
    "results room",
    "commentary positions",
    "media tribune",
    "mixed zone",
    "venue media centre",
    "broadcast compound",
    "venue technology room",
    "photo positions",
    "athlete areas",
    "spectator services",
    "accreditation and security",
];

/// How many devices each site gets: exactly `devices` in all, at least one
/// each (`devices >= sites.len()`).
fn shares(sites: &[Site], devices: usize) -> Vec<usize> {
    let base: Vec<usize> = sites.iter().map(|s| shape(s).len()).collect();
    let total_base: usize = base.iter().sum();
    let mut share = vec![0usize; sites.len()];
    if devices <= total_base {
        // Level by level, larger venues first at each level.
        let mut order: Vec<usize> = (0..sites.len()).collect();
        order.sort_by_key(|&i| Reverse(sites.get(i).map_or(0, |s| s.weight)));
        let mut left = devices;
        let deepest = base.iter().copied().max().unwrap_or(0);
        for level in 1..=deepest {
            for &i in &order {
                if left == 0 {
                    return share;
                }
                if let (Some(b), Some(s)) = (base.get(i), share.get_mut(i))
                    && *b >= level
                {
                    *s += 1;
                    left -= 1;
                }
            }
        }
        return share;
    }
    // The full shape everywhere, the rest by weight (largest remainder).
    let extra = (devices - total_base) as u128;
    let weights: Vec<u128> = sites.iter().map(|s| u128::from(s.weight.max(1))).collect();
    let total_weight: u128 = weights.iter().sum::<u128>().max(1);
    let mut given = 0u128;
    let mut remainders = Vec::with_capacity(sites.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = extra * w;
        let floor = exact / total_weight;
        given += floor;
        remainders.push((Reverse(exact % total_weight), i));
        if let (Some(s), Some(b)) = (share.get_mut(i), base.get(i)) {
            *s = b + usize::try_from(floor).unwrap_or(0);
        }
    }
    remainders.sort();
    let leftover = usize::try_from(extra - given).unwrap_or(0);
    for &(_, i) in remainders.iter().take(leftover) {
        if let Some(s) = share.get_mut(i) {
            *s += 1;
        }
    }
    share
}

/// The text of a valid `venues.toml` with `venues` venues and exactly
/// `devices` devices, every address on 127.0.0.1 (see the module docs for
/// the shape and the ports). `venues` is taken into `1..=`[`MAX_VENUES`],
/// `devices` into `venues..=`[`MAX_DEVICES`]: every venue has at least one
/// device. The same arguments always give the same text.
pub fn games(venues: usize, devices: usize) -> String {
    let venues = venues.clamp(1, MAX_VENUES);
    let devices = devices.clamp(venues, MAX_DEVICES);
    let sites = SITES.get(..venues).unwrap_or(&SITES);
    let share = shares(sites, devices);
    let mut out = String::with_capacity(2048 + devices * 320);
    header(&mut out, venues, devices);
    let mut other_tcp = OTHER_TCP_BASE;
    for (i, (site, &n)) in sites.iter().zip(&share).enumerate() {
        let index = u16::try_from(i).unwrap_or(0);
        let mut w = Writer {
            out: &mut out,
            site,
            snmp: SNMP_BASE + index,
            http: HTTP_BASE + index,
        };
        w.venue(index, n, &mut other_tcp);
    }
    out
}

fn header(out: &mut String, venues: usize, devices: usize) {
    let _ = write!(
        out,
        "# generated by toc::sim::synth::games({venues}, {devices})\n\
         #\n\
         # A synthetic Games on loopback; for the venue with 0-based index i:\n\
         #   snmp  snmp://127.0.0.1:{{30000+i}}, context = device id\n\
         #   http  http://127.0.0.1:{{30100+i}}/health/{{device-id}}\n\
         #   tcp   timing 30200+i, scoreboard 30300+i, others 30400+ (unique)\n\
         \n\
         [event]\n\
         name = \"Synthetic Games ({venues} venues, {devices} devices)\"\n\
         poll_interval = \"5s\"\n\
         timeout = \"1s\"\n\
         retries = 1\n\
         max_attempts = 3\n\
         flap_high = 50.0\n\
         flap_low = 25.0\n\
         data_dir = \"toc-data\"\n\
         \n\
         [event.slo]\n\
         commentators = \"350ms\"\n\
         web_mobile = \"2350ms\"\n\
         media = \"5s\"\n\
         \n\
         [profiles.{PROFILE}]\n\
         version = \"v2c\"\n\
         community = \"toc-demo\"\n"
    );
}

/// A TOML basic string.
fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| q(s)).collect();
    format!("[{}]", quoted.join(", "))
}

/// How a device is probed.
#[derive(Debug, Clone, Copy)]
enum Probe {
    Snmp,
    Http,
    Tcp(u16),
}

/// One device to write; optional keys are left out when `None`.
#[derive(Debug)]
struct Dev<'a> {
    id: String,
    role: &'a str,
    probe: Probe,
    description: String,
    group: Option<String>,
    parents: &'a [String],
    critical: Option<bool>,
    interfaces: &'a [&'a str],
    cpu_threshold: Option<u8>,
    expect_status: Option<u16>,
    poll_interval: Option<&'a str>,
}

impl<'a> Dev<'a> {
    fn new(id: String, role: &'a str, probe: Probe, description: String) -> Self {
        Dev {
            id,
            role,
            probe,
            description,
            group: None,
            parents: &[],
            critical: None,
            interfaces: &[],
            cpu_threshold: None,
            expect_status: None,
            poll_interval: None,
        }
    }
}

struct Writer<'o> {
    out: &'o mut String,
    site: &'o Site,
    snmp: u16,
    http: u16,
}

impl Writer<'_> {
    fn id(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.site.code)
    }

    fn device(&mut self, d: &Dev<'_>) {
        let out = &mut *self.out;
        let _ = write!(
            out,
            "\n[[venues.devices]]\nid = \"{}\"\nrole = \"{}\"\n",
            d.id, d.role
        );
        match d.probe {
            Probe::Snmp => {
                let _ = write!(
                    out,
                    "probe = \"snmp://{HOST}:{}\"\ndescription = {}\nprofile = \"{PROFILE}\"\ncontext = \"{}\"\n",
                    self.snmp,
                    q(&d.description),
                    d.id
                );
            }
            Probe::Http => {
                let _ = write!(
                    out,
                    "probe = \"http://{HOST}:{}/health/{}\"\ndescription = {}\n",
                    self.http,
                    d.id,
                    q(&d.description)
                );
            }
            Probe::Tcp(port) => {
                let _ = write!(
                    out,
                    "probe = \"tcp://{HOST}:{port}\"\ndescription = {}\n",
                    q(&d.description)
                );
            }
        }
        if let Some(g) = &d.group {
            let _ = writeln!(out, "group = \"{g}\"");
        }
        if !d.parents.is_empty() {
            let _ = writeln!(out, "parent = {}", list(d.parents));
        }
        if let Some(c) = d.critical {
            let _ = writeln!(out, "critical = {c}");
        }
        if !d.interfaces.is_empty() {
            let names: Vec<String> = d.interfaces.iter().map(|s| (*s).to_owned()).collect();
            let _ = writeln!(out, "interfaces = {}", list(&names));
        }
        if let Some(c) = d.cpu_threshold {
            let _ = writeln!(out, "cpu_threshold = {c}");
        }
        if let Some(s) = d.expect_status {
            let _ = writeln!(out, "expect_status = {s}");
        }
        if let Some(p) = d.poll_interval {
            let _ = writeln!(out, "poll_interval = \"{p}\"");
        }
    }

    /// Writes venue `index` with exactly `n` devices.
    fn venue(&mut self, index: u16, n: usize, other_tcp: &mut u16) {
        let site = self.site;
        let _ = write!(
            self.out,
            "\n# --- {index}: {} {} ---\n[[venues]]\ncode = \"{}\"\nname = {}\ncity = {}\nsports = {}\n",
            site.code,
            site.name,
            site.code,
            q(site.name),
            q(site.city),
            list(
                &site
                    .sports
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect::<Vec<_>>()
            )
        );
        let full = shape(site);
        let chosen: Vec<Slot> = if n >= full.len() {
            full.clone()
        } else {
            let mut ranks: Vec<usize> = full.iter().map(|s| s.rank()).collect();
            ranks.sort_unstable();
            let cut = ranks.get(n.saturating_sub(1)).copied().unwrap_or(0);
            full.iter().copied().filter(|s| s.rank() <= cut).collect()
        };
        let has = |s: Slot| chosen.contains(&s);
        let pair = |a: Slot, b: Slot, sa: &str, sb: &str| -> Vec<String> {
            [(a, sa), (b, sb)]
                .iter()
                .filter(|(s, _)| has(*s))
                .map(|(_, suffix)| self.id(suffix))
                .collect()
        };
        let routers = pair(Slot::Router('a'), Slot::Router('b'), "rtr-a", "rtr-b");
        let cores = pair(Slot::Core('a'), Slot::Core('b'), "core-a", "core-b");
        let servers_suffix = if site.competition { "ovr" } else { "srv" };
        let servers = pair(
            Slot::Server('a'),
            Slot::Server('b'),
            &format!("{servers_suffix}-a"),
            &format!("{servers_suffix}-b"),
        );
        let below_core: &[String] = if cores.is_empty() { &routers } else { &cores };
        for slot in &chosen {
            self.base_device(*slot, &routers, below_core, other_tcp);
        }
        if n > full.len() {
            self.fill(n - full.len(), &cores);
        }
        let name = site.name;
        let mut groups: Vec<(String, String)> = Vec::new();
        if !routers.is_empty() {
            groups.push((self.id("uplink"), format!("{name} uplink routers")));
        }
        if has(Slot::Firewall('a')) {
            groups.push((self.id("fw"), format!("{name} firewall pair")));
        }
        if !cores.is_empty() {
            groups.push((self.id("core"), format!("{name} core switch pair")));
        }
        if !servers.is_empty() {
            let what = if site.competition {
                "On-Venue Results servers"
            } else {
                "venue servers"
            };
            groups.push((self.id(servers_suffix), format!("{name} {what}")));
        }
        for (id, description) in groups {
            let _ = write!(
                self.out,
                "\n[[venues.groups]]\nid = \"{id}\"\nmin_up = 1\ndescription = {}\n",
                q(&description)
            );
        }
        if site.competition && servers.len() == 2 {
            let _ = write!(
                self.out,
                "\n[[venues.feeds]]\nid = \"{}\"\nprimary = \"{}\"\nbackup = \"{}\"\n\
                 consumers = [\"commentators\", \"web_mobile\", \"media\"]\nstale_after = \"30s\"\n",
                self.id("results"),
                servers.first().map_or("", String::as_str),
                servers.get(1).map_or("", String::as_str),
            );
        }
    }

    fn base_device(
        &mut self,
        slot: Slot,
        routers: &[String],
        below_core: &[String],
        other_tcp: &mut u16,
    ) {
        let d = self
            .network_device(slot, routers, below_core)
            .or_else(|| self.service_device(slot, below_core, other_tcp));
        if let Some(d) = d {
            self.device(&d);
        }
    }

    /// Routers, firewalls, switches, wifi and power (SNMP); `None` for
    /// the other slots.
    fn network_device<'a>(
        &self,
        slot: Slot,
        routers: &'a [String],
        below_core: &'a [String],
    ) -> Option<Dev<'a>> {
        let name = self.site.name;
        let upper = |c: char| c.to_ascii_uppercase();
        Some(match slot {
            Slot::Router(c) => Dev {
                group: Some(self.id("uplink")),
                interfaces: &["Te0/0/0", "Te0/0/1"],
                cpu_threshold: Some(85),
                ..Dev::new(
                    self.id(&format!("rtr-{c}")),
                    "uplink-router",
                    Probe::Snmp,
                    format!(
                        "{name} uplink router {} ({} path to the TOC)",
                        upper(c),
                        if c == 'a' { "primary" } else { "diverse" }
                    ),
                )
            },
            Slot::Firewall(c) => Dev {
                group: Some(self.id("fw")),
                parents: routers,
                cpu_threshold: Some(80),
                ..Dev::new(
                    self.id(&format!("fw-{c}")),
                    "firewall",
                    Probe::Snmp,
                    format!("{name} firewall {} (results DMZ)", upper(c)),
                )
            },
            Slot::Core(c) => Dev {
                group: Some(self.id("core")),
                parents: routers,
                interfaces: &["Gi1/0/49", "Gi1/0/50", "Te1/1/1"],
                cpu_threshold: Some(80),
                ..Dev::new(
                    self.id(&format!("core-{c}")),
                    "core-switch",
                    Probe::Snmp,
                    format!("{name} core switch {}", upper(c)),
                )
            },
            Slot::Access => Dev {
                parents: below_core,
                critical: Some(false),
                ..Dev::new(
                    self.id("acc-01"),
                    "access-switch",
                    Probe::Snmp,
                    format!("{name} access switch 01 ({})", ACCESS_ZONES[0]),
                )
            },
            Slot::Wifi => Dev {
                parents: below_core,
                critical: Some(false),
                cpu_threshold: Some(90),
                ..Dev::new(
                    self.id("wlc"),
                    "wifi-controller",
                    Probe::Snmp,
                    format!("{name} wifi controller (media and results wifi)"),
                )
            },
            Slot::Ups => Dev {
                parents: below_core,
                critical: Some(false),
                poll_interval: Some("30s"),
                ..Dev::new(
                    self.id("ups-1"),
                    "ups",
                    Probe::Snmp,
                    format!("{name} UPS 1 (venue technology room)"),
                )
            },
            _ => return None,
        })
    }

    /// Results, timing, scoreboard, graphics and the extras (HTTP and TCP);
    /// `None` for the other slots.
    fn service_device<'a>(
        &self,
        slot: Slot,
        below_core: &'a [String],
        other_tcp: &mut u16,
    ) -> Option<Dev<'a>> {
        let site = self.site;
        let name = site.name;
        let index = self.snmp - SNMP_BASE;
        let upper = |c: char| c.to_ascii_uppercase();
        Some(match slot {
            Slot::Server(c) if site.competition => Dev {
                group: Some(self.id("ovr")),
                parents: below_core,
                expect_status: Some(200),
                ..Dev::new(
                    self.id(&format!("ovr-{c}")),
                    "ovr-server",
                    Probe::Http,
                    format!(
                        "{name} On-Venue Results server ({})",
                        if c == 'a' { "primary" } else { "backup" }
                    ),
                )
            },
            Slot::Server(c) => Dev {
                group: Some(self.id("srv")),
                parents: below_core,
                expect_status: Some(200),
                ..Dev::new(
                    self.id(&format!("srv-{c}")),
                    "venue-server",
                    Probe::Http,
                    format!("{name} venue services server {}", upper(c)),
                )
            },
            Slot::Timing => Dev {
                parents: below_core,
                critical: Some(true),
                ..Dev::new(
                    self.id("timing"),
                    "timing-link",
                    Probe::Tcp(TIMING_BASE + index),
                    format!("{name} timing and scoring link to the results system"),
                )
            },
            Slot::Cis => Dev {
                parents: below_core,
                expect_status: Some(200),
                ..Dev::new(
                    self.id("cis"),
                    "cis-server",
                    Probe::Http,
                    format!("{name} Commentator Information System server"),
                )
            },
            Slot::Scoreboard => Dev {
                parents: below_core,
                ..Dev::new(
                    self.id("scb"),
                    "scoreboard",
                    Probe::Tcp(SCOREBOARD_BASE + index),
                    format!("{name} scoreboard / video board controller"),
                )
            },
            Slot::TvGraphics => Dev {
                parents: below_core,
                expect_status: Some(200),
                ..Dev::new(
                    self.id("tvg"),
                    "tv-graphics",
                    Probe::Http,
                    format!("{name} TV graphics data feed to the broadcaster"),
                )
            },
            Slot::Extra(n) => {
                let (suffix, role, what) = site.extras.get(n).copied().unwrap_or(PHOTO_FINISH);
                let port = *other_tcp;
                *other_tcp = other_tcp.saturating_add(1);
                Dev {
                    parents: below_core,
                    ..Dev::new(
                        self.id(suffix),
                        role,
                        Probe::Tcp(port),
                        format!("{name} {what}"),
                    )
                }
            }
            _ => return None,
        })
    }

    /// Writes `n` devices beyond the base shape (which is complete: the
    /// cores and access switch 01 exist).
    fn fill(&mut self, n: usize, cores: &[String]) {
        let name = self.site.name;
        let count = |kind: Fill| {
            (0..n)
                .filter(|j| FILL.get(j % FILL.len()) == Some(&kind))
                .count()
        };
        // Access switch 01 is part of the base shape.
        let access = 1 + count(Fill::Access);
        let access_ids: Vec<[String; 1]> = (1..=access)
            .map(|k| [self.id(&format!("acc-{k:02}"))])
            .collect();
        for (k, _) in access_ids.iter().enumerate().skip(1) {
            let number = k + 1;
            let zone = ACCESS_ZONES[k % ACCESS_ZONES.len()];
            self.device(&Dev {
                parents: cores,
                critical: Some(false),
                ..Dev::new(
                    self.id(&format!("acc-{number:02}")),
                    "access-switch",
                    Probe::Snmp,
                    format!("{name} access switch {number:02} ({zone})"),
                )
            });
        }
        let behind = |k: usize| access_ids.get(k % access).map_or(&[][..], |a| &a[..]);
        for k in 0..count(Fill::AccessPoint) {
            let number = k + 1;
            self.device(&Dev {
                parents: behind(k),
                critical: Some(false),
                ..Dev::new(
                    self.id(&format!("ap-{number:03}")),
                    "wifi-ap",
                    Probe::Snmp,
                    format!("{name} wifi access point {number:03}"),
                )
            });
        }
        for k in 0..count(Fill::Printer) {
            let number = k + 1;
            self.device(&Dev {
                parents: behind(k),
                critical: Some(false),
                ..Dev::new(
                    self.id(&format!("prn-{number:02}")),
                    "printer",
                    Probe::Snmp,
                    format!("{name} results printer {number:02}"),
                )
            });
        }
        for k in 0..count(Fill::Terminal) {
            let number = k + 1;
            self.device(&Dev {
                parents: behind(k),
                critical: Some(false),
                expect_status: Some(200),
                ..Dev::new(
                    self.id(&format!("cist-{number:03}")),
                    "cis-terminal",
                    Probe::Http,
                    format!("{name} commentator information terminal {number:03}"),
                )
            });
        }
        for k in 0..count(Fill::Pdu) {
            let number = k + 1;
            self.device(&Dev {
                parents: cores,
                critical: Some(false),
                poll_interval: Some("30s"),
                ..Dev::new(
                    self.id(&format!("pdu-{number:02}")),
                    "pdu",
                    Probe::Snmp,
                    format!("{name} power distribution unit {number:02}"),
                )
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_have_unique_valid_codes() {
        let mut codes: Vec<&str> = SITES.iter().map(|s| s.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), MAX_VENUES);
        assert!(
            SITES
                .iter()
                .all(|s| s.code.len() == 3 && s.code.chars().all(|c| c.is_ascii_uppercase()))
        );
    }

    #[test]
    fn shares_are_exact_and_favour_large_venues() {
        for (venues, devices) in [
            (1, 1),
            (3, 4),
            (49, 49),
            (49, 500),
            (49, 10_000),
            (60, 20_000),
        ] {
            let sites = &SITES[..venues];
            let s = shares(sites, devices);
            assert_eq!(s.iter().sum::<usize>(), devices, "{venues} {devices}");
            assert!(s.iter().all(|&n| n >= 1));
        }
        let s = shares(&SITES[..49], 10_000);
        // STA (weight 16) gets more than HDV (weight 2).
        assert!(s[0] > s[34] * 3, "{s:?}");
    }

    #[test]
    fn out_of_range_arguments_are_clamped() {
        let zero = games(0, 0);
        assert!(zero.contains("(1 venues, 1 devices)"));
        let many = games(1000, 5);
        assert!(many.contains("(60 venues, 60 devices)"));
    }
}
