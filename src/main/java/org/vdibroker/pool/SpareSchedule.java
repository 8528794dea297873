package org.vdibroker.pool;

import java.io.Serializable;
import java.time.DayOfWeek;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.regex.Pattern;
import org.infinispan.protostream.annotations.ProtoField;
import org.infinispan.protostream.annotations.ProtoName;
import org.jboss.logging.Logger;

/**
 * A pool's spare targets by weekday and time of day, in the pool's time zone: windows such as "MON-FRI 07:30-10:00,
 * spare 20" (peak) or "SAT,SUN 00:00-24:00, spare 0" (off-peak). Outside every window the pool's own {@code spare}
 * applies. Windows of one pool never overlap, so at most one is in force at a time.
 */
public record SpareSchedule(@ProtoField(number = 1) List<Window> windows) implements Serializable {

    public static final SpareSchedule NONE = new SpareSchedule(List.of());

    private static final Logger LOG = Logger.getLogger(SpareSchedule.class);
    private static final Pattern TIME = Pattern.compile("([01]\\d|2[0-3]):[0-5]\\d|24:00");
    private static final int DAY_MINUTES = 24 * 60;

    public SpareSchedule {
        windows = List.copyOf(windows);
    }

    /**
     * One window: on {@code days}, from {@code fromMinute} (inclusive) to {@code toMinute} (exclusive) minutes after
     * local midnight, keep {@code spare} desktops ready. {@code toMinute} is at most 1440 ("24:00").
     */
    @ProtoName("SpareWindow")
    public record Window(@ProtoField(number = 1, collectionImplementation = HashSet.class) Set<DayOfWeek> days,
            @ProtoField(number = 2) int fromMinute, @ProtoField(number = 3) int toMinute,
            @ProtoField(number = 4) int spare) implements Serializable {

        public Window {
            days = Set.copyOf(days);
        }

        boolean covers(DayOfWeek day, int minute) {
            return days.contains(day) && minute >= fromMinute && minute < toMinute;
        }

        boolean overlaps(Window other) {
            return other.days.stream().anyMatch(days::contains) && fromMinute < other.toMinute
                    && other.fromMinute < toMinute;
        }
    }

    /** The spare count of the window in force at {@code local}, if any. */
    public OptionalInt spareAt(ZonedDateTime local) {
        int minute = local.getHour() * 60 + local.getMinute();
        for (Window w : windows) {
            if (w.covers(local.getDayOfWeek(), minute)) {
                return OptionalInt.of(w.spare());
            }
        }
        return OptionalInt.empty();
    }

    /**
     * Reads windows as the admin API spells them, putting what is wrong into {@code errors} under the field's path
     * (e.g. {@code schedules[1].to}); returns the windows that are valid.
     */
    public static SpareSchedule parse(List<PoolRepresentation.Schedule> schedules, Map<String, Object> errors) {
        List<Window> windows = new ArrayList<>();
        List<Integer> positions = new ArrayList<>();
        if (schedules == null) {
            return NONE;
        }
        for (int i = 0; i < schedules.size(); i++) {
            String at = "schedules[" + i + "]";
            PoolRepresentation.Schedule s = schedules.get(i);
            if (s == null) {
                errors.put(at, "must be an object with days, from, to and spare");
                continue;
            }
            int before = errors.size();
            Set<DayOfWeek> days = days(s.days(), at + ".days", errors);
            int from = minute(s.from(), at + ".from", errors);
            int to = minute(s.to(), at + ".to", errors);
            if (from >= 0 && to >= 0 && from >= to) {
                errors.put(at + ".to", "must be later than from (a window past midnight is two windows)");
            }
            if (s.spare() == null || s.spare() < 0 || s.spare() > 100000) {
                errors.put(at + ".spare", "must be a number from 0 to 100000");
            }
            if (errors.size() > before) {
                continue;
            }
            Window window = new Window(days, from, to, s.spare());
            for (int j = 0; j < windows.size(); j++) {
                if (windows.get(j).overlaps(window)) {
                    errors.put(at, "overlaps schedules[" + positions.get(j) + "] on "
                            + overlapDays(windows.get(j), window));
                }
            }
            windows.add(window);
            positions.add(i);
        }
        return new SpareSchedule(windows);
    }

    /** Windows read back from the database; one made invalid there by hand is left out rather than fail the pool. */
    static SpareSchedule of(String poolId, List<SpareWindowEmbeddable> stored) {
        Map<String, Object> errors = new LinkedHashMap<>();
        SpareSchedule schedule = parse(stored.stream().map(SpareWindowEmbeddable::toRepresentation).toList(), errors);
        if (!errors.isEmpty()) {
            LOG.warnf("Pool %s: schedule windows left out: %s", poolId, errors);
        }
        return schedule;
    }

    static String time(int minute) {
        return String.format("%02d:%02d", minute / 60, minute % 60);
    }

    private static Set<DayOfWeek> days(List<String> names, String field, Map<String, Object> errors) {
        if (names == null || names.isEmpty()) {
            errors.put(field, "must name at least one day: MON, TUE, WED, THU, FRI, SAT, SUN");
            return Set.of();
        }
        EnumSet<DayOfWeek> days = EnumSet.noneOf(DayOfWeek.class);
        for (String name : names) {
            DayOfWeek day = name == null ? null : dayOf(name);
            if (day == null) {
                errors.put(field, "unknown day " + name + ": use MON, TUE, WED, THU, FRI, SAT, SUN");
            } else if (!days.add(day)) {
                errors.put(field, name + " appears twice");
            }
        }
        return days;
    }

    private static DayOfWeek dayOf(String name) {
        for (DayOfWeek d : DayOfWeek.values()) {
            if (d.name().substring(0, 3).equals(name)) {
                return d;
            }
        }
        return null;
    }

    static String dayName(DayOfWeek day) {
        return day.name().substring(0, 3);
    }

    /** Minutes after midnight of "HH:mm" ("24:00" ends a day), or -1 after recording the error. */
    private static int minute(String time, String field, Map<String, Object> errors) {
        if (time == null || !TIME.matcher(time).matches()) {
            errors.put(field, "must be a time HH:mm between 00:00 and 24:00");
            return -1;
        }
        int minute = Integer.parseInt(time.substring(0, 2)) * 60 + Integer.parseInt(time.substring(3));
        return Math.min(minute, DAY_MINUTES);
    }

    private static String overlapDays(Window a, Window b) {
        return String.join(",", a.days().stream().filter(b.days()::contains).sorted().map(SpareSchedule::dayName)
                .toList());
    }
}
