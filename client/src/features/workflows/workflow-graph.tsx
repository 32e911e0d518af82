'use client'
/**
 * A workflow graph drawn top to bottom (lib/workflow-layout.ts): edges as SVG curves (dashed for "on
 * failure", dotted for "always", with the kind written beside them), nodes as real buttons or links
 * placed over them, so the drawing is usable by keyboard and screen readers and scrolls on a phone. A
 * node's status is written in it (never colour only); a node the API found a problem in says so.
 */
import Link from 'next/link'
import { useMemo, type ReactNode } from 'react'
import { edgeKindLabel, nodeStatusLabel } from '@/lib/workflow-draft'
import { edgePath, layoutGraph, NODE_H, NODE_W } from '@/lib/workflow-layout'

export interface GraphNode {
  key: string
  /** Second line: the template's name, "Approval". */
  detail: string
  status?: string | undefined
  href?: string | undefined
  problem?: boolean
}

export interface GraphEdge {
  from: string
  to: string
  kind: string
}

const STATUS_TONE: Record<string, string> = {
  SUCCEEDED: 'ok',
  FAILED: 'err',
  TIMED_OUT: 'err',
  CANCELLED: 'warn',
  RUNNING: 'accent',
  READY: 'info',
  AWAITING_APPROVAL: 'approval',
  PENDING: 'idle',
  SKIPPED: 'idle',
}

export function WorkflowGraph({ nodes, edges, selected, onSelect, label }: { nodes: readonly GraphNode[]; edges: readonly GraphEdge[]; selected?: string | null; onSelect?: (key: string) => void; label: string }) {
  const layout = useMemo(() => layoutGraph(nodes.map((n) => n.key), edges), [nodes, edges])
  return (
    <div className="wf-graph-scroll" role="group" aria-label={label} data-testid="workflow-graph">
      <div className="wf-graph" style={{ width: layout.width, height: layout.height }}>
        <svg width={layout.width} height={layout.height} aria-hidden>
          <defs>
            <marker id="wf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M 0 0 L 10 5 L 0 10 z" fill="currentColor" />
            </marker>
          </defs>
          {edges.map((e, i) => {
            const a = layout.nodes.get(e.from)
            const b = layout.nodes.get(e.to)
            if (!a || !b || a === b) return null
            const mx = (a.x + b.x) / 2 + NODE_W / 2
            const my = (a.y + NODE_H + b.y) / 2
            return (
              <g key={i} className={`wf-edge kind-${e.kind}`}>
                <path d={edgePath(a, b)} markerEnd="url(#wf-arrow)" />
                {e.kind !== 'ON_SUCCESS' ? (
                  <text x={mx + 6} y={my} dominantBaseline="middle">
                    {edgeKindLabel(e.kind).toLowerCase()}
                  </text>
                ) : null}
              </g>
            )
          })}
        </svg>
        {nodes.map((n) => {
          const p = layout.nodes.get(n.key)
          if (!p) return null
          const tone = n.status ? (STATUS_TONE[n.status] ?? 'idle') : 'plain'
          const body: ReactNode = (
            <>
              <span className="wf-node-key">{n.key}</span>
              <span className="wf-node-detail">{n.detail}</span>
              {n.status ? <span className="wf-node-status">{nodeStatusLabel(n.status)}</span> : null}
              {n.problem ? <span className="wf-node-status wf-problem">Has a problem</span> : null}
            </>
          )
          const common = {
            className: `wf-node tone-${tone}${selected === n.key ? ' selected' : ''}${n.problem ? ' problem' : ''}`,
            style: { left: p.x, top: p.y, width: NODE_W, height: NODE_H },
            'data-node': n.key,
            'data-status': n.status,
          }
          if (n.href)
            return (
              <Link key={n.key} href={n.href} {...common}>
                {body}
                <span className="sr-only"> (open its run)</span>
              </Link>
            )
          if (onSelect)
            return (
              <button key={n.key} type="button" {...common} aria-pressed={selected === n.key} onClick={() => onSelect(n.key)}>
                {body}
              </button>
            )
          return (
            <div key={n.key} {...common}>
              {body}
            </div>
          )
        })}
      </div>
    </div>
  )
}
