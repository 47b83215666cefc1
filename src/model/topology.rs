//! TEMPORARY stub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceIdx(pub usize);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupIdx(pub usize);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VenueIdx(pub usize);
#[derive(Debug, Clone)]
pub struct Topology { pub devices: Vec<DeviceNode>, pub groups: Vec<GroupNode>, pub venues: Vec<VenueNode> }
#[derive(Debug, Clone)]
pub struct DeviceNode { pub venue: VenueIdx, pub group: Option<GroupIdx>, pub parents: Vec<DeviceIdx>, pub critical: bool }
#[derive(Debug, Clone)]
pub struct GroupNode { pub venue: VenueIdx, pub min_up: usize, pub members: Vec<DeviceIdx> }
#[derive(Debug, Clone)]
pub struct VenueNode { pub devices: Vec<DeviceIdx>, pub groups: Vec<GroupIdx> }
