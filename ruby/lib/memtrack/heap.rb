# frozen_string_literal: true

module MemTrack
  class Rack
    # Heap snapshots for mod_memtrack's heap diff (issue 13): what a leaking
    # endpoint keeps, by class and allocation site.
    #
    # mod_memtrack asks one process at a time, by pid, on every request that
    # Passenger handles while it waits ("X-MemTrack-Want: heap=T; heap_pid=P;
    # heap_step=S; heap_dir=D; heap_max=M"); the process whose pid it is takes
    # snapshot S at the start of the request and says so on the response
    # ("heap=T; heap_step=S; heap_gc=G; heap_bytes=B; heap_us=U"), or why not
    # ("heap=T; heap_step=S; heap_error=CODE"). Every other process ignores
    # the ask. The module counts the endpoint's requests in that process
    # between the snapshots and diffs the files itself.
    #
    #   step 1  ObjectSpace.trace_object_allocations_start, a full GC, a full
    #           ObjectSpace.dump_all; heap_gc (G1) is the GC count after that
    #           GC: an object born after the snapshot has generation >= G1.
    #   step 2  a full GC, heap_gc (G2) the count after it, dump_all(since:
    #           G1): only the objects born after snapshot 1, so the pause and
    #           the file are those of what was allocated since, not of the
    #           whole heap. Born between 1 and 2: G1 <= generation < G2.
    #   step 3  the same, then tracing stops and its table is cleared.
    #   step 0  stop: tracing off, this attempt's files removed.
    #
    # Files: D/memtrack-heap-PID-TOKEN-STEP.json, made with O_EXCL|O_NOFOLLOW,
    # mode 0600 (0640 when D lets its group read: a group shared with httpd's
    # user). D must be an absolute path of [A-Za-z0-9_./-], a real directory
    # owned by this process's user and closed to others (no "other" bits); it
    # is created 0700 when missing. A snapshot larger than heap_max is cut off
    # by RLIMIT_FSIZE while it is written (SIGXFSZ ignored meanwhile) and
    # removed. Snapshots hold every string's contents: they never leave D.
    #
    # Limits of its own, for a process reached without the module in front:
    # MEMTRACK_HEAP=0 refuses every ask (heap_error=disabled); an attempt
    # starts at most every MEMTRACK_HEAP_INTERVAL seconds (default 300);
    # tracing that is still on MEMTRACK_HEAP_MAX_AGE seconds (3600) after
    # its start stops by itself; files of this process's earlier attempts,
    # of processes that are gone, and any older than MEMTRACK_HEAP_KEEP
    # seconds (3600) are removed when an attempt starts.
    #
    # Error codes: disabled, rate, dir, dir_missing, dir_owner, dir_mode,
    # denied (no permission), nospace (disk or quota full), too_big (over
    # heap_max), exists, sequence (a step out of order), io (anything else).
    class Heap
      DIR_RE = %r{\A/[A-Za-z0-9_./-]{0,199}\z}
      FILE_RE = /\Amemtrack-heap-(\d+)-(\d+)-([1-3])\.json\z/
      MAX_NUM = 1 << 50
      INTERVAL_DEFAULT = 300
      MAX_AGE_DEFAULT = 3600
      KEEP_DEFAULT = 3600

      # What the module asked: token, pid, step (0..3), dir, max bytes.
      Ask = Struct.new(:token, :pid, :step, :dir, :max)

      # Raised to end an attempt with an error code.
      class Refused < StandardError
        attr_reader :code

        def initialize(code)
          @code = code
          super(code)
        end
      end

      attr_reader :snapshots, :refusals, :last_error

      def initialize(enabled: true, interval: INTERVAL_DEFAULT,
                     max_age: MAX_AGE_DEFAULT, keep: KEEP_DEFAULT, clock: nil)
        @enabled = enabled
        @interval = interval
        @max_age = max_age
        @keep = keep
        @clock = clock || -> { Process.clock_gettime(Process::CLOCK_MONOTONIC) }
        @token = nil              # the attempt of this process, or nil
        @acks = {}                # step => the items that acknowledged it
        @last_start = nil
        @snapshots = @refusals = 0
        @last_error = nil
      end

      # Tracing is on for an attempt: every request looks at its age.
      def tracing?
        @tracing ? true : false
      end

      def self.from_env(env = ENV)
        new(enabled: env["MEMTRACK_HEAP"] != "0",
            interval: seconds(env["MEMTRACK_HEAP_INTERVAL"], INTERVAL_DEFAULT),
            max_age: seconds(env["MEMTRACK_HEAP_MAX_AGE"], MAX_AGE_DEFAULT),
            keep: seconds(env["MEMTRACK_HEAP_KEEP"], KEEP_DEFAULT))
      end

      def self.seconds(text, default)
        v = Integer(text.to_s, 10)
        v >= 0 ? v : default
      rescue ArgumentError, TypeError
        default
      end

      # At the start of a request: the items for X-MemTrack, or nil.
      def at_start(ask)
        expire
        return nil unless ask&.token && ask.step && ask.pid == Process.pid

        refuse!("disabled") unless @enabled
        return @acks[ask.step] if ask.token == @token && @acks[ask.step]

        ask.step.zero? ? stop(ask) : snapshot(ask)
      rescue Refused => e
        refused(ask, e.code)
      rescue StandardError => e
        @last_error = e
        refused(ask, "io")
      end

      private

      def now
        @clock.call
      end

      def refuse!(code)
        raise Refused, code
      end

      def refused(ask, code)
        @refusals += 1
        abandon(ask.dir) if ask.token == @token
        "; heap=#{ask.token}; heap_step=#{ask.step}; heap_error=#{code}"
      end

      def snapshot(ask)
        ask.step == 1 ? first(ask) : later(ask)
        @acks[ask.step]
      end

      def first(ask)
        abandon(@dir) if @token                # a new attempt replaces one
        refuse!("rate") if @last_start && now - @last_start < @interval
        perm = check_dir(ask.dir)
        sweep(ask.dir)
        require "objspace"
        @token = ask.token
        @dir = ask.dir
        @perm = perm
        @acks = {}
        @last_start = @since = now
        ObjectSpace.trace_object_allocations_start
        @tracing = true
        take(ask, 1) { |f| ObjectSpace.dump_all(output: f) }
      end

      def later(ask)
        refuse!("sequence") unless ask.token == @token && @acks[ask.step - 1]
        g1 = @gc1
        take(ask, ask.step) { |f| ObjectSpace.dump_all(output: f, since: g1) }
        stop_tracing if ask.step == 3
      end

      # One snapshot: a full GC, the dump into its file, the ack. heap_gc is
      # the GC count after that GC: every object born after the snapshot
      # has a generation of at least heap_gc, every object in it less
      # (but the dump's own, which are garbage at once).
      def take(ask, step)
        t0 = now
        GC.start(full_mark: true, immediate_sweep: true)
        gc = GC.count
        @gc1 = gc if step == 1
        path = file(step)
        bytes = write_file(path, ask.max) { |f| yield f }
        us = ((now - t0) * 1_000_000).round
        @snapshots += 1
        @acks[step] = "; heap=#{ask.token}; heap_step=#{step}; heap_gc=#{gc}; " \
                      "heap_bytes=#{bytes}; heap_us=#{us.clamp(0, MAX_NUM)}"
      end

      def file(step)
        File.join(@dir, "memtrack-heap-#{Process.pid}-#{@token}-#{step}.json")
      end

      def write_file(path, max)
        flags = File::WRONLY | File::CREAT | File::EXCL | File::NOFOLLOW
        f = File.open(path, flags, @perm)
        begin
          size_limited(max) do
            yield f
            f.flush
          end
        ensure
          begin
            f.close
          rescue StandardError
            nil                               # the error that matters is raised
          end
        end
        File.size(path)
      rescue Errno::ENOSPC, Errno::EDQUOT
        fail_file(path, "nospace")
      rescue Errno::EFBIG
        fail_file(path, "too_big")
      rescue Errno::EACCES, Errno::EPERM, Errno::EROFS
        fail_file(path, "denied")
      rescue Errno::EEXIST
        refuse!("exists")
      end

      def fail_file(path, code)
        remove(path)
        refuse!(code)
      end

      # RLIMIT_FSIZE bounds the file while dump_all writes it (it holds the
      # interpreter lock meanwhile, so no other Ruby thread writes then).
      def size_limited(max)
        return yield unless max.is_a?(Integer) && max.positive?

        soft, hard = Process.getrlimit(:FSIZE)
        return yield if soft != Process::RLIM_INFINITY && soft <= max

        prev = trap("XFSZ", "IGNORE")
        Process.setrlimit(:FSIZE, [max, hard].min, hard)
        begin
          yield
        ensure
          Process.setrlimit(:FSIZE, soft, hard)
          trap("XFSZ", prev || "DEFAULT")
        end
      end

      def stop(ask)
        abandon(ask.dir) if ask.token == @token
        remove_attempt(ask.dir, ask.token) if safe_dir?(ask.dir)
        "; heap=#{ask.token}; heap_step=0"
      end

      def stop_tracing
        return unless @tracing

        ObjectSpace.trace_object_allocations_stop
        ObjectSpace.trace_object_allocations_clear
        @tracing = false
      end

      # Forget the attempt: tracing off, its files gone.
      def abandon(dir)
        stop_tracing
        remove_attempt(dir, @token) if @token && safe_dir?(dir)
        @token = nil
        @acks = {}
      end

      def expire
        return unless @tracing && now - @since > @max_age

        abandon(@dir)
      end

      # The file mode for snapshots in dir, or an error code.
      def check_dir(dir)
        refuse!("dir") unless dir.is_a?(String) && DIR_RE.match?(dir) &&
                              !dir.split("/").include?("..")
        st = lstat_or_make(dir)
        refuse!("dir") if st.symlink? || !st.directory?
        refuse!("dir_owner") if st.uid != Process.euid
        refuse!("dir_mode") if st.mode.anybits?(0o007)
        st.mode.anybits?(0o040) ? 0o640 : 0o600
      end

      def lstat_or_make(dir)
        File.lstat(dir)
      rescue Errno::ENOENT
        begin
          Dir.mkdir(dir, 0o700)
        rescue SystemCallError
          refuse!("dir_missing")
        end
        File.lstat(dir)
      end

      def safe_dir?(dir)
        dir.is_a?(String) && DIR_RE.match?(dir) && File.lstat(dir).directory? &&
          File.lstat(dir).uid == Process.euid
      rescue SystemCallError
        false
      end

      # This process's files of other attempts, those of processes that are
      # gone (killed between snapshots), and any older than keep.
      def sweep(dir)
        cutoff = Time.now - @keep
        Dir.each_child(dir) do |name|
          m = FILE_RE.match(name) or next
          path = File.join(dir, name)
          st = File.lstat(path)
          next unless st.file?

          pid = m[1].to_i
          remove(path) if pid == Process.pid || st.mtime < cutoff || !alive?(pid)
        end
      rescue SystemCallError
        nil
      end

      def alive?(pid)
        Process.kill(0, pid)
        true
      rescue Errno::EPERM
        true
      rescue SystemCallError
        false
      end

      def remove_attempt(dir, token)
        (1..3).each do |step|
          remove(File.join(dir, "memtrack-heap-#{Process.pid}-#{token}-#{step}.json"))
        end
      end

      def remove(path)
        File.unlink(path) if File.lstat(path).file?
      rescue SystemCallError
        nil
      end
    end
  end
end
