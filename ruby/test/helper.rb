# frozen_string_literal: true

# Shared by the gem's tests. Each test file runs in its own ruby process
# (t/30-gem.t), so one that loads ActiveRecord cannot change another.
$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "minitest/autorun"
require "rack"
require "rack/mock"
require "memtrack/rack"

module MemTrackTestHelper
  # The parser rules of include/mt_proto.h, mirrored: what the module accepts.
  NUM_KEYS = %w[v pid rss_before rss_after gc_before gc_after minor_before
                minor_after major_before major_after live_before live_after
                old_before old_after alloc_before alloc_after freed_before
                freed_after uss pss qc_before qc_after probe_us
                heap_step heap_gc heap_bytes heap_us].freeze
  TOKEN_KEYS = %w[probe probe_done heap].freeze   # 1..2^50
  SIGNED_KEYS = %w[probe_bytes probe_objects].freeze # -2^50..2^50, no "-0"
  NAME_KEYS = %w[controller action heap_error].freeze
  MAX_LEN = 2048
  MAX_NUM = 1 << 50

  # Parse a header value the way the module does; fail on anything it would
  # count as bad, return {key => Integer or String}.
  def parse_strict(value)
    assert_operator value.bytesize, :<=, MAX_LEN, "header too long"
    out = {}
    value.split(";").each do |item|
      key, val = item.strip.split("=", 2)
      refute out.key?(key), "duplicate key #{key}"
      if NUM_KEYS.include?(key) || TOKEN_KEYS.include?(key)
        assert_match(/\A\d{1,16}\z/, val, "#{key} not a number")
        assert_operator val.to_i, :<=, MAX_NUM
        assert_operator val.to_i, :>=, 1, "#{key} is 1 or more" if TOKEN_KEYS.include?(key)
        out[key] = val.to_i
      elsif SIGNED_KEYS.include?(key)
        assert_match(/\A(0|-?[1-9]\d{0,15})\z/, val, "#{key} not a signed number")
        assert_operator val.to_i.abs, :<=, MAX_NUM
        out[key] = val.to_i
      elsif NAME_KEYS.include?(key)
        assert_match(%r{\A[A-Za-z0-9_:/.#-]{1,128}\z}, val, "#{key} bad name")
        out[key] = val
      else
        flunk "unknown key #{key.inspect} in #{value.inspect}"
      end
    end
    assert_equal 1, out["v"]
    assert_operator out["pid"], :>, 0
    out
  end

  def header_of(headers)
    headers[MemTrack::Rack::HEADER] || headers[MemTrack::Rack::HEADER.downcase]
  end

  def call_app(mw, env = {})
    env = Rack::MockRequest.env_for("/x", env)
    status, headers, body = mw.call(env)
    [status, headers, body, env]
  end

  def ok_app(body = "ok")
    ->(_env) { [200, { "Content-Type" => "text/plain" }, [body]] }
  end
end
