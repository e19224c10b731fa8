/** "managed": only containers labelled io.osiris.managed=true exist for callers (OSIRIS_SCOPE). */
export type Scope = "managed" | "all";
