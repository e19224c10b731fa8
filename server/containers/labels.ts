/** Every container Osiris creates carries this label set to "true". */
export const managedLabel = "io.osiris.managed";

/** The idempotency key of the Run that made the container, and a digest of that Run's request. */
export const requestIdLabel = "io.osiris.request-id";
export const requestDigestLabel = "io.osiris.request-digest";

/** Label keys under this prefix belong to Osiris; clients may not set them. */
export const reservedLabelPrefix = "io.osiris.";
