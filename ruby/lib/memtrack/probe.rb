# frozen_string_literal: true

require "etc"
require_relative "malloc_stats"

module MemTrack
  class Rack
    # What one request left behind in this process, measured when
    # mod_memtrack asks with "X-MemTrack-Want: probe=T" (issue 10).
    #
    # A Passenger app process serves one request at a time, so between the
    # start of request N and the start of the process's next request only N
    # (and background threads) ran. At the start of N: a full GC and a
    # snapshot (the "before" of T; the response says probe=T). At the start
    # of the next request: another full GC and snapshot, and that response
    # says probe_done=T with the difference. The after side is not at the end
    # of N because N's env, response and body are still referenced there.
    # When the next request is itself probed, one GC serves as the after of
    # the one and the before of the other.
    #
    # Snapshot: malloc bytes in use (MallocStats), GC.stat heap_live_slots,
    # heap_allocated_pages and heap_sorted_length, kept in instance variables
    # (integers only, so the probe's own bookkeeping allocates nothing that
    # outlives a request).
    #
    #   probe_bytes   = d(malloc in use) - d(pages) * PAGE_MALLOC_BYTES
    #                   - d(sorted length) * PAGE_TABLE_BYTES
    #                   + d(live slots) * SLOT_BYTES
    #   probe_objects = d(live slots)
    #
    # Ruby 3.1 maps its 16 KiB heap pages with mmap (when the system page is
    # not larger), so the page bodies are not in malloc's figures; what it
    # mallocs for its heap is a struct heap_page per page (352 bytes) and the
    # sorted page table (8 bytes per entry of heap_sorted_length, realloc'd
    # in steps of thousands of entries). Measured: adding 17 to 7,343 pages
    # moved malloc by exactly 352 * pages + 8 * entries (to the byte from 100
    # pages on), and freeing 2,235 pages returned 352 each. Both are taken
    # out and object slots are counted instead, so a request is charged 40
    # bytes per object it kept, not 16 KiB when a page happens to be needed
    # nor a table step of tens of KB when the heap grows.
    #
    # Limits, per process: at most `ps` probes started per second (the want
    # header's ps=, default 2); the probes' GCs use at most `budget` of the
    # wall time: a probe GC that starts at t and takes g seconds keeps new
    # probes from starting before max(previous bar, t) + g / budget; a
    # pending probe older than MAX_AGE, or inherited across a fork, is
    # dropped. Finishing a pending probe is never refused.
    #
    # Not thread-safe, on purpose: under a threaded server one request's
    # probe sees the other requests' work anyway, so the figures only mean
    # something where a process serves one request at a time.
    class Probe
      MAX_NUM = 1 << 50
      MAX_AGE = 60.0            # seconds
      PS_DEFAULT = 2
      PS_MAX = 1000
      BUDGET_DEFAULT = 0.02
      C = GC::INTERNAL_CONSTANTS
      SLOT_BYTES = C[:RVALUE_SIZE] || C[:BASE_SLOT_SIZE] || 40
      HEAP_PAGE_BYTES = C[:HEAP_PAGE_SIZE] || (16 << 10)
      # malloc'd per heap page: its struct (measured on Ruby 3.1), plus the
      # body where this Ruby mallocs it (before 3.1, or when the system page
      # is larger than a heap page; not measured here).
      PAGE_MALLOC_BYTES = begin
        sys = Etc.respond_to?(:sysconf) ? Etc.sysconf(Etc::SC_PAGESIZE).to_i : 4096
        mmapped = RUBY_VERSION >= "3.1" && sys <= HEAP_PAGE_BYTES
        352 + (mmapped ? 0 : HEAP_PAGE_BYTES)
      rescue StandardError
        352
      end

      PAGE_TABLE_BYTES = [0].pack("J").bytesize # one pointer per entry
      SORTED_KEY = GC.stat.key?(:heap_sorted_length) ? :heap_sorted_length : nil

      attr_reader :budget, :started, :finished, :dropped, :refused, :reader_error

      # enabled: false answers no probe at all (MEMTRACK_PROBE=0).
      # budget:  fraction of wall time the probes' GCs may use, (0, 1].
      def initialize(enabled: true, budget: BUDGET_DEFAULT)
        @enabled = enabled
        @budget = budget
        @token = nil              # the pending probe, or nil
        @started = @finished = @dropped = @refused = 0
        @bar = 0.0                # no new probe starts before this time
        @window = -1              # the second of the ps count
        @window_used = 0
        @reader = nil
        @reader_tried = false
        @reader_error = nil
      end

      def pending?
        !@token.nil?
      end

      # At the start of a request: finish the pending probe, then start the
      # one asked for (token: Integer or nil; ps: Integer or nil). Returns
      # the items for the X-MemTrack header ("; probe_done=...; probe=T"),
      # or nil.
      def at_start(token, ps)
        return nil unless @enabled

        out = finish(now) if @token
        return out unless token
        # The clock again: the budget check must see the GC finish just ran.
        return refuse(out) unless allowed?(ps || PS_DEFAULT, now)

        start(token, !out.nil?)
        out ? out << "; probe=" << token.to_s : "; probe=#{token}"
      end

      private

      def refuse(out)
        @refused += 1
        out
      end

      def allowed?(ps, now)
        return false if now < @bar

        sec = now.to_i
        if sec != @window
          @window = sec
          @window_used = 0
        end
        return false if @window_used >= ps

        @window_used += 1
        true
      end

      # fresh: the snapshot of this very moment was just taken by finish.
      def start(token, fresh)
        us = fresh ? 0 : gc_snapshot
        @token = token
        @pid = Process.pid
        @since = @at
        @live0 = @live
        @pages0 = @pages
        @sorted0 = @sorted
        @malloc0 = @malloc
        @us0 = us
        @started += 1
      end

      # The pending probe's result, or nil when it is dropped.
      def finish(now)
        token = @token
        @token = nil # an error below drops it
        if @pid != Process.pid || now - @since > MAX_AGE
          @dropped += 1
          return nil
        end
        us = @us0 + gc_snapshot
        @finished += 1
        result(token, us)
      end

      def result(token, us)
        objects = @live - @live0
        out = +"; probe_done=#{token}"
        if @malloc && @malloc0
          bytes = (@malloc - @malloc0) - (@pages - @pages0) * PAGE_MALLOC_BYTES -
                  (@sorted - @sorted0) * PAGE_TABLE_BYTES + objects * SLOT_BYTES
          out << "; probe_bytes=" << bytes.to_s if bytes.abs <= MAX_NUM
        end
        out << "; probe_objects=" << objects.to_s if objects.abs <= MAX_NUM
        out << "; probe_us=" << us.to_s if us >= 0 && us <= MAX_NUM
        out
      end

      # A full GC and the snapshot into @live, @pages, @sorted, @malloc, @at;
      # returns the microseconds both took and charges them to the budget.
      def gc_snapshot
        reader = malloc_reader # loaded once, before the clock starts
        t0 = now
        full_gc
        @live = GC.stat(:heap_live_slots)
        @pages = GC.stat(:heap_allocated_pages)
        @sorted = SORTED_KEY ? GC.stat(SORTED_KEY) : 0
        @malloc = in_use(reader)
        t1 = now
        @at = t0
        @bar = (@bar > t0 ? @bar : t0) + (t1 - t0) / @budget
        ((t1 - t0) * 1_000_000).round
      end

      def full_gc
        GC.start(full_mark: true, immediate_sweep: true)
      end

      # A reader that fails once is given up: probes go on with objects only.
      def in_use(reader)
        reader&.in_use
      rescue StandardError => e
        @reader_error = e
        @reader = nil
        nil
      end

      def malloc_reader
        return @reader if @reader_tried

        @reader_tried = true
        @reader = MallocStats.reader
      end

      def now
        Process.clock_gettime(Process::CLOCK_MONOTONIC)
      end
    end
  end
end
