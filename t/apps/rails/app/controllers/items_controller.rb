# frozen_string_literal: true

# Bodies start with the pid of the process that served the request; the
# second line is what the app itself sees of its query cache, so a test can
# compare it with the record's query_cache_after.
class ItemsController < ApplicationController
  RETAINED = []
  LEAK = []

  # Four queries, three distinct: the repeated one is a query cache hit.
  def index
    total = Item.count
    cheap = Item.where("price < ?", 100).to_a
    Item.where("price < ?", 100).to_a
    first = Item.order(:id).limit(5).to_a
    answer("items=#{total} cheap=#{cheap.size} first=#{first.map(&:id).join(',')}")
  end

  def show
    item = Item.find(params[:id])
    Item.find(params[:id])
    answer("item=#{item.name}")
  end

  def pid
    answer("pid")
  end

  def retain
    mb = params[:mb].to_i.clamp(0, 512)
    (mb * 16).times { RETAINED << ("r" * (64 << 10)) }
    answer("retained=#{mb}")
  end

  def leak
    100.times { LEAK << ("l" * 500) }
    answer("leak=#{LEAK.size}")
  end

  private

  def answer(what)
    qc = MemTrack::Rack::QueryCache.entries
    render plain: "#{Process.pid}\nqc=#{qc.inspect}\n#{what}\n"
  end
end
