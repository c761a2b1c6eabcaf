import './base.css';
import './housekeeping.css';
import './columns.css';
