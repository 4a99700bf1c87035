//! Typed indices of the simulation's hosts, series and plugin instances, so one
//! kind of index cannot be used for another.

macro_rules! index_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(usize);

        impl $name {
            pub(crate) const fn new(index: usize) -> Self {
                Self(index)
            }

            /// The position in the simulation's table.
            pub const fn index(self) -> usize {
                self.0
            }
        }
    };
}

index_type!(
    /// A host of the simulation, in config order.
    HostId
);
index_type!(
    /// A series (one metric of one host), in config order.
    SeriesId
);
index_type!(
    /// An instance of a scenario plugin the simulation drives.
    PluginId
);
index_type!(
    /// A group of series stepped together in one plugin call.
    GroupIndex
);
