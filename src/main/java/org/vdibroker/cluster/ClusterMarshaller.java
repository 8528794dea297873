package org.vdibroker.cluster;

import java.io.IOException;
import java.time.Instant;
import java.util.Locale;
import org.infinispan.commons.configuration.ClassAllowList;
import org.infinispan.commons.dataconversion.MediaType;
import org.infinispan.commons.io.ByteBuffer;
import org.infinispan.commons.io.ByteBufferImpl;
import org.infinispan.commons.marshall.AbstractMarshaller;
import org.infinispan.commons.marshall.JavaSerializationMarshaller;
import org.infinispan.protostream.ProtobufUtil;
import org.infinispan.protostream.SerializationContext;
import org.vdibroker.WireSchema;
import org.vdibroker.WireSchemaImpl;

/**
 * How cache keys, values and the functions sent to a key's owner become bytes, between nodes and in the outbox
 * journal on disk (named in the Infinispan XML). The broker's own types and the scalars go as ProtoStream messages
 * (schemas generated from their annotations, {@link WireSchema}); anything else (a plain {@code HashMap} value, a
 * type not annotated) goes through Java serialization, which reads back only the classes of the XML's allow-list.
 *
 * <p>It reads both formats whatever it writes: a Java serialization stream starts with {@code 0xACED}, and no
 * ProtoStream message does (it starts with the tag of a field of {@code WrappedMessage}, numbered 1 to 30; read as a
 * tag, {@code 0xACED} would be field 1749). That is what lets a cluster move from Java serialization to ProtoStream
 * one node at a time, and lets journal entries written before the move be read after it. What it writes is
 * {@code vdi.cluster.marshalling} (system property) or {@code VDI_CLUSTER_MARSHALLING}: {@code protostream} (the
 * default) or {@code java}, for the first of two rolls away from a version that reads Java serialization only
 * (operations.md, "Upgrades").
 */
public class ClusterMarshaller extends AbstractMarshaller {

    /** What the marshaller writes. */
    public enum Format {
        PROTOSTREAM, JAVA;

        /** The format {@code vdi.cluster.marshalling} or {@code VDI_CLUSTER_MARSHALLING} names; ProtoStream if none. */
        public static Format configured() {
            String value = System.getProperty("vdi.cluster.marshalling", System.getenv("VDI_CLUSTER_MARSHALLING"));
            if (value == null || value.isBlank()) {
                return PROTOSTREAM;
            }
            try {
                return valueOf(value.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("vdi.cluster.marshalling (VDI_CLUSTER_MARSHALLING) must be protostream"
                        + " or java, not " + value);
            }
        }

        /** How {@code vdi.cluster.marshalling} spells this format (what {@link #configured} reads back). */
        public String setting() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private static final SerializationContext CONTEXT = context();

    private final JavaSerializationMarshaller java = new JavaSerializationMarshaller();
    private final Format writes;

    /** As Infinispan creates it from the XML: the format from the environment, the allow-list from the XML. */
    public ClusterMarshaller() {
        this(Format.configured());
    }

    public ClusterMarshaller(Format writes) {
        this.writes = writes;
    }

    private static SerializationContext context() {
        SerializationContext context = ProtobufUtil.newSerializationContext();
        new WireSchemaImpl().register(context);
        return context;
    }

    public Format writes() {
        return writes;
    }

    @Override
    public void initialize(ClassAllowList allowList) {
        java.initialize(allowList);
    }

    @Override
    protected ByteBuffer objectToBuffer(Object o, int estimatedSize) throws IOException, InterruptedException {
        if (writes == Format.PROTOSTREAM && inSchema(o)) {
            return ByteBufferImpl.create(ProtobufUtil.toWrappedByteArray(CONTEXT, o, estimatedSize));
        }
        return java.objectToBuffer(o);
    }

    @Override
    public Object objectFromByteBuffer(byte[] buf, int offset, int length) throws IOException, ClassNotFoundException {
        if (javaSerialized(buf, offset, length)) {
            return java.objectFromByteBuffer(buf, offset, length);
        }
        return ProtobufUtil.fromWrappedByteArray(CONTEXT, buf, offset, length);
    }

    /** Whether bytes are a Java serialization stream (its magic number), not a ProtoStream message. */
    static boolean javaSerialized(byte[] buf, int offset, int length) {
        return length >= 2 && buf[offset] == (byte) 0xAC && buf[offset + 1] == (byte) 0xED;
    }

    /** Whether {@code o} is a scalar ProtoStream wraps itself or a type of {@link WireSchema}. */
    public static boolean inSchema(Object o) {
        return o != null && (o instanceof String || o instanceof Long || o instanceof Integer || o instanceof Boolean
                || o instanceof Double || o instanceof Instant || o instanceof byte[]
                || CONTEXT.canMarshall(o.getClass()));
    }

    @Override
    public boolean isMarshallable(Object o) {
        return inSchema(o) || java.isMarshallable(o);
    }

    @Override
    public MediaType mediaType() {
        // consulted only for off-heap storage, which no cache of the broker uses
        return writes == Format.PROTOSTREAM ? MediaType.APPLICATION_PROTOSTREAM
                : MediaType.APPLICATION_SERIALIZED_OBJECT;
    }
}
