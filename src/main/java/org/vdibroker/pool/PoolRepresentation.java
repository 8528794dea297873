package org.vdibroker.pool;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Size;
import java.time.Instant;
import java.util.List;
import org.vdibroker.protocol.ConnectionSettings;

/** A pool in the admin API. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PoolRepresentation(
        @NotBlank @Pattern(regexp = "[a-z0-9][a-z0-9-]{0,62}",
                message = "must be 1-63 lowercase letters, digits, dashes") String id,
        @NotBlank @Size(max = 255) String displayName,
        @NotNull @Pattern(regexp = "floating|dedicated", message = "must be floating or dedicated") String assignment,
        @Min(0) @Max(100000) int minSize,
        @Min(0) @Max(100000) int spare,
        @Min(0) @Max(100000) int maxSize,
        @NotEmpty List<@Pattern(regexp = "rdp|spice|vnc|vmrc",
                message = "must be rdp, spice, vnc or vmrc") String> protocols,
        @NotNull @Valid DesktopSize desktop,
        @Min(0) Long idleTimeoutSeconds,
        @Min(0) Long disconnectTimeoutSeconds,
        @Size(max = 64) String timeZone,
        Boolean enabled,
        @NotEmpty @Size(max = 100) List<@Valid Template> templates,
        @NotNull @Valid Entitlements entitlements,
        @Size(max = 100) List<Schedule> schedules,
        Boolean prewarm,
        @Pattern(regexp = "adopt|retire|ignore", message = "must be adopt, retire or ignore") String unknownVms,
        ConnectionSettings connectionSettings,
        @JsonProperty(access = JsonProperty.Access.READ_ONLY) List<GroupStatus> groupStatus,
        @JsonProperty(access = JsonProperty.Access.READ_ONLY) Instant createdAt,
        @JsonProperty(access = JsonProperty.Access.READ_ONLY) Instant updatedAt) {

    public record DesktopSize(@Min(1) @Max(1024) int vcpus, @Min(64) long memoryMb) {
    }

    public record Template(@NotBlank String hypervisorId, @NotBlank @Size(max = 1000) String templateRef,
            @JsonProperty(access = JsonProperty.Access.READ_ONLY) Integer publication) {
    }

    /**
     * A spare target in force on {@code days} (MON..SUN) from {@code from} to {@code to} ("HH:mm", "24:00" ends the
     * day) in the pool's time zone. Checked by PoolService, which names the offending field.
     */
    public record Schedule(List<String> days, String from, String to, Integer spare) {
    }

    /**
     * What the identity provider says of one entitled group: OK, UNVERIFIED, RENAMED, REMOVED, REPLACED or MISSING,
     * with a sentence for the admin. A renamed or removed group is reported, never followed silently.
     */
    public record GroupStatus(String group, String state, String detail, Instant checkedAt) {
    }

    public record Entitlements(List<@Pattern(regexp = "/.+", message = "group paths start with /") String> groups,
            List<@NotBlank String> users) {
    }
}
