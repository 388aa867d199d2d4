//! CBV 2.0 / GS1 web vocabulary terms that EPCIS 2.0 JSON-LD may write bare (the term names of the
//! EPCIS 2.0 JSON-LD context, ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld), and the URI
//! prefix each expands to. `persistentDisposition` set/unset use the disposition terms.


pub const BIZ_STEPS_PREFIX: &str = "https://ref.gs1.org/cbv/BizStep-";
pub const BIZ_STEPS: &[&str] = &["accepting", "arriving", "assembling", "collecting", "commissioning", "consigning", "creating_class_instance", "cycle_counting", "decommissioning", "departing", "destroying", "disassembling", "dispensing", "encoding", "entering_exiting", "holding", "inspecting", "installing", "killing", "loading", "other", "packing", "picking", "receiving", "removing", "repackaging", "repairing", "replacing", "reserving", "retail_selling", "sampling", "sensor_reporting", "shipping", "staging_outbound", "stock_taking", "stocking", "storing", "transporting", "unloading", "unpacking", "void_shipping"];

pub const DISPOSITIONS_PREFIX: &str = "https://ref.gs1.org/cbv/Disp-";
pub const DISPOSITIONS: &[&str] = &["active", "available", "completeness_verified", "completeness_inferred", "conformant", "container_closed", "container_open", "damaged", "destroyed", "dispensed", "disposed", "encoded", "expired", "in_progress", "in_transit", "inactive", "mismatch_instance", "mismatch_class", "mismatch_quantity", "needs_replacement", "no_pedigree_match", "non_conformant", "non_sellable_other", "partially_dispensed", "recalled", "reserved", "retail_sold", "returned", "sellable_accessible", "sellable_not_accessible", "stolen", "unavailable", "unknown"];

pub const SOURCE_DEST_TYPES_PREFIX: &str = "https://ref.gs1.org/cbv/SDT-";
pub const SOURCE_DEST_TYPES: &[&str] = &["owning_party", "possessing_party", "location"];

pub const BIZ_TRANSACTION_TYPES_PREFIX: &str = "https://ref.gs1.org/cbv/BTT-";
pub const BIZ_TRANSACTION_TYPES: &[&str] = &["bol", "cert", "desadv", "inv", "pedigree", "po", "poc", "prodorder", "recadv", "rma", "testprd", "testres", "upevt"];

pub const MEASUREMENT_TYPES_PREFIX: &str = "https://gs1.org/voc/";
pub const MEASUREMENT_TYPES: &[&str] = &["AbsoluteHumidity", "AbsorbedDose", "AbsorbedDoseRate", "Acceleration", "Radioactivity", "Altitude", "AmountOfSubstance", "AmountOfSubstancePerUnitVolume", "Angle", "AngularAcceleration", "AngularMomentum", "AngularVelocity", "Area", "Capacitance", "Conductance", "Conductivity", "Count", "Density", "Dimensionless", "DoseEquivalent", "DoseEquivalentRate", "DynamicViscosity", "ElectricCharge", "ElectricCurrent", "ElectricCurrentDensity", "ElectricFieldStrength", "Energy", "Exposure", "Force", "Frequency", "Illuminance", "Inductance", "Irradiance", "KinematicViscosity", "Length", "LinearMomentum", "Luminance", "LuminousFlux", "LuminousIntensity", "MagneticFlux", "MagneticFluxDensity", "MagneticVectorPotential", "Mass", "MassConcentration", "MassFlowRate", "MassPerAreaTime", "MemoryCapacity", "MolalityOfSolute", "MolarEnergy", "MolarMass", "MolarVolume", "Power", "Pressure", "RadiantFlux", "RadiantIntensity", "RelativeHumidity", "Resistance", "Resistivity", "SolidAngle", "SpecificVolume", "Speed", "SurfaceDensity", "SurfaceTension", "Temperature", "Time", "Torque", "Voltage", "Volume", "VolumeFlowRate", "VolumeFraction", "VolumetricFlux", "Wavenumber"];

pub const SENSOR_ALERT_TYPES_PREFIX: &str = "https://gs1.org/voc/";
pub const SENSOR_ALERT_TYPES: &[&str] = &["ALARM_CONDITION", "ERROR_CONDITION"];

pub const COMPONENTS_PREFIX: &str = "https://ref.gs1.org/cbv/Comp-";
pub const COMPONENTS: &[&str] = &["x", "y", "z", "axial_distance", "azimuth", "height", "spherical_radius", "polar_angle", "elevation_angle", "easting", "northing", "latitude", "longitude", "altitude"];

