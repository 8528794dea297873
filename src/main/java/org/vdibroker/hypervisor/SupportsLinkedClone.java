package org.vdibroker.hypervisor;

/** A driver whose {@code provision} makes copy-on-write clones, so provisioning is cheap and fast. */
public interface SupportsLinkedClone {
}
