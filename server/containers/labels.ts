/** Every container Osiris creates carries this label set to "true". */
export const managedLabel = "io.osiris.managed";

/** Label keys under this prefix belong to Osiris; clients may not set them. */
export const reservedLabelPrefix = "io.osiris.";
