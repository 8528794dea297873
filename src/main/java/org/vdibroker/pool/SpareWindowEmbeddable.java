package org.vdibroker.pool;

import jakarta.persistence.Column;
import jakarta.persistence.Embeddable;
import java.util.Arrays;
import java.util.List;

/** One schedule window of a pool as stored: days {@code MON,TUE}, times {@code HH:mm}, a spare count. */
@Embeddable
public class SpareWindowEmbeddable {

    /** Comma-separated, e.g. {@code MON,TUE,WED}. */
    @Column(name = "days", nullable = false)
    public String days;

    @Column(name = "starts_at", nullable = false)
    public String from;

    @Column(name = "ends_at", nullable = false)
    public String to;

    @Column(name = "spare", nullable = false)
    public int spare;

    public SpareWindowEmbeddable() {
    }

    static SpareWindowEmbeddable of(SpareSchedule.Window w) {
        SpareWindowEmbeddable e = new SpareWindowEmbeddable();
        e.days = String.join(",", w.days().stream().sorted().map(SpareSchedule::dayName).toList());
        e.from = SpareSchedule.time(w.fromMinute());
        e.to = SpareSchedule.time(w.toMinute());
        e.spare = w.spare();
        return e;
    }

    PoolRepresentation.Schedule toRepresentation() {
        return new PoolRepresentation.Schedule(List.copyOf(Arrays.asList(days.split(","))), from, to, spare);
    }
}
