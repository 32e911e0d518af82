'use client'
/** A list's search box: what is typed shows at once, the search itself follows once typing pauses. */
import { useEffect, useState } from 'react'

export interface DebouncedSearch {
  /** What the box shows. */
  input: string
  setInput(value: string): void
  /** The trimmed input, 200 ms after the last keystroke: what to query with. */
  search: string
}

export function useDebouncedSearch(): DebouncedSearch {
  const [input, setInput] = useState('')
  const [search, setSearch] = useState('')
  useEffect(() => {
    const t = setTimeout(() => setSearch(input.trim()), 200)
    return () => clearTimeout(t)
  }, [input])
  return { input, setInput, search }
}

export function SearchBox({ label, placeholder, search }: { label: string; placeholder: string; search: DebouncedSearch }) {
  return <input type="search" placeholder={placeholder} aria-label={label} value={search.input} onChange={(e) => search.setInput(e.target.value)} style={{ minWidth: 260 }} />
}
