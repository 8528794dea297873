package org.vdibroker.hypervisor.vsphere;

/** A vSphere managed object reference: its type and its id (moid), e.g. {@code VirtualMachine vm-42}. */
record Mor(String type, String value) {

    /** The reference as a SOAP element {@code <name type="T">value</name>}. */
    String xml(String name) {
        return "<" + name + " type=\"" + Xml.escape(type) + "\">" + Xml.escape(value) + "</" + name + ">";
    }

    @Override
    public String toString() {
        return type + ":" + value;
    }
}
